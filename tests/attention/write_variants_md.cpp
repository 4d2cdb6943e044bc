// Prints docs/VARIANTS.md (or, with --list-variants, the table the apps print): ./attention_write_variants_md >
// docs/VARIANTS.md
#include <cstring>
#include <iostream>

#include "sinklab/attention/variants.hpp"

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--list-variants") == 0)
    sinklab::attention::print_variant_table(std::cout);
  else
    std::cout << sinklab::attention::variants_markdown();
}
