// Must not compile: a feature map that claims a CPU block path (cpu_rows) without a PhiRows specialisation
#include "sinklab/attention/phi_rows_cpu.hpp"
using namespace sinklab::attention::kernel;
struct ClaimsRows : phi::Relu {
  static constexpr bool cpu_rows = true;
};
static_assert(phi_rows_declared<ClaimsRows>());
