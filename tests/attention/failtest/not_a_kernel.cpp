// Must not compile: a type without the kernel hooks is rejected by the Kernel concept
#include "sinklab/attention/variant.hpp"
using namespace sinklab::attention;
struct NotAKernel {}; template struct Variant<NotAKernel, Normalizer<row::RowSum<>>>;
