// Must not compile: unclamped exp with ÷n_i overflows without a max shift
#include "sinklab/attention/variant.hpp"
using namespace sinklab::attention;
template struct Variant<kernel::Exp, Normalizer<row::DivCount>>;
