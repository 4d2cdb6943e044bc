#pragma once
// Thread-count control for CPU ops: OpenMP loops and Eigen's GEMM share one setting.
// Determinism note: elementwise ops and row-parallel reductions give identical results for any thread count
// (each output is computed by one thread in a fixed order). Eigen's threaded GEMM splits along M/N only, not K,
// so matmul results also do not depend on the thread count. See README "Threads".
#include <omp.h>

#include <Eigen/Core>
#include <cstdint>

namespace sinklab {

inline void set_num_threads(int n) {
  if (n <= 0) n = omp_get_num_procs();
  omp_set_num_threads(n);
  Eigen::setNbThreads(n);
}

inline int num_threads() { return omp_get_max_threads(); }

// Minimum work per thread before an op goes parallel (avoids fork/join cost on tiny tensors).
inline constexpr int64_t kParallelGrain = 1 << 15;

}  // namespace sinklab
