// Must not compile: row_offset(n_i, T) is the hook's old shape; the Kernel concept asks for row_offset(n_i, S, T)
#include "sinklab/attention/variant.hpp"
using namespace sinklab::attention;
struct PerRowOnly : kernel::Sigmoid<> {
  template <class T>
  static T row_offset(int n, T) {
    return -T(n);
  }
};
template struct Variant<PerRowOnly, Normalizer<row::None>>;
