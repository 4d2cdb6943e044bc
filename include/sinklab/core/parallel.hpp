#pragma once
// Thread-count control for CPU ops: every parallel loop is an OpenMP loop of sinklab's own.
// Determinism: elementwise ops and row-parallel reductions compute each output on one thread in a fixed order, and
// GEMMs run single-threaded Eigen products over a fixed grid of output tiles (backend/cpu/gemm.hpp), so results do
// not depend on the thread count. Eigen's own GEMM threading is switched off: with more than one thread Eigen picks
// a different K blocking, which changes the summation order. See README "Threads and determinism".
#include <omp.h>

#include <Eigen/Core>
#include <cstdint>

namespace sinklab {

inline void set_num_threads(int n) {
  if (n <= 0) n = omp_get_num_procs();
  omp_set_num_threads(n);
  Eigen::setNbThreads(1);
}

inline int num_threads() { return omp_get_max_threads(); }

namespace detail {
// Eigen threads a product by itself unless told not to; do it at start-up so no product ever does, whether or not
// the program calls set_num_threads.
inline const bool eigen_products_serial = [] {
  Eigen::setNbThreads(1);
  return true;
}();
}  // namespace detail

// Minimum work per thread before an op goes parallel (avoids fork/join cost on tiny tensors).
inline constexpr int64_t kParallelGrain = 1 << 15;

}  // namespace sinklab
