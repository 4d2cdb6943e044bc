// Must not compile: DivCount has no data-dependent denominator to detach
#include "sinklab/attention/variant.hpp"
using namespace sinklab::attention;
template struct Variant<kernel::ClampedExp<5>, Normalizer<row::DivCount, vec::None, grad::Detached>>;
