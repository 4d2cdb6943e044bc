// Must not compile: softpick defines its own denominator
#include "sinklab/attention/variant.hpp"
using namespace sinklab::attention;
template struct Variant<kernel::Softpick, Normalizer<row::DivCount, vec::L2>>;
