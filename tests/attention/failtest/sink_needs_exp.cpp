// Must not compile: a sink term only makes sense next to a sum of exponentials
#include "sinklab/attention/variant.hpp"
using namespace sinklab::attention;
template struct Variant<kernel::Sigmoid<>, Normalizer<row::RowSumPlusSink<row::SinkLogit::unit>>>;
