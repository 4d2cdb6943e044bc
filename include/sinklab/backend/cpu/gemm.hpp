#pragma once
// GEMM on CPU tensors through Eigen, threaded by sinklab over a fixed grid of output tiles.
// matmul(a, b, ta, tb): op(a) (…, M, K) × op(b) (…, K, N), where op transposes the last two axes when asked.
// Batch axes must match exactly, or b may be 2-D and shared by every batch (the Linear-layer case).
//
// Why not Eigen's own threading: with more than one thread Eigen picks a different K blocking (kc), so for K above
// a few hundred the summation order, and so the bits, depend on the thread count. Here every tile of the output is
// one single-threaded Eigen product whose blocking depends only on the tile's shape, and the tiles are fixed by the
// problem shape alone, so results are bit-identical for any thread count (tests/autograd/test_threads.cpp).
#include <algorithm>

#include "sinklab/core/parallel.hpp"
#include "sinklab/tensor/tensor.hpp"

namespace sinklab::backend::cpu {

namespace detail {
template <class T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Output tile of the deterministic grid: large enough that packing costs ~1% of the tile's FLOPs.
inline constexpr int64_t kGemmTileRows = 256, kGemmTileCols = 512;
// Below this many multiply-adds a product runs on the calling thread (fork/join would cost more than it saves).
inline constexpr int64_t kGemmParallelFlops = int64_t(1) << 21;

// Whether an M×N product is one tile of the grid, so runs on one thread whatever the thread count.
inline bool gemm_one_tile(int64_t m, int64_t n) { return m <= kGemmTileRows && n <= kGemmTileCols; }

// out (M×N) (+)= op(A) op(B) on raw row-major blocks.
template <class T>
void gemm_block(const T* a, int64_t ar, int64_t ac, bool ta, const T* b, int64_t br, int64_t bc, bool tb, T* out,
                bool accumulate) {
  Eigen::Map<const RowMat<T>> A(a, ar, ac), B(b, br, bc);
  const int64_t m = ta ? ac : ar, n = tb ? br : bc, k = ta ? ar : ac;
  Eigen::Map<RowMat<T>> C(out, m, n);
  const int64_t tiles_m = (m + kGemmTileRows - 1) / kGemmTileRows, tiles_n = (n + kGemmTileCols - 1) / kGemmTileCols;
  const int64_t tiles = tiles_m * tiles_n;
  auto tile = [&](int64_t t, const auto& x, const auto& y) {
    const int64_t i0 = (t / tiles_n) * kGemmTileRows, j0 = (t % tiles_n) * kGemmTileCols;
    const int64_t mi = std::min(kGemmTileRows, m - i0), nj = std::min(kGemmTileCols, n - j0);
    auto c = C.block(i0, j0, mi, nj);
    if (accumulate)
      c.noalias() += x.middleRows(i0, mi) * y.middleCols(j0, nj);
    else
      c.noalias() = x.middleRows(i0, mi) * y.middleCols(j0, nj);
  };
  auto run = [&](const auto& x, const auto& y) {
    const bool par = tiles > 1 && m * n * k >= kGemmParallelFlops;
#pragma omp parallel for schedule(static) if (par)
    for (int64_t t = 0; t < tiles; ++t) tile(t, x, y);
  };
  if (m == 0 || n == 0) return;
  if (!ta && !tb) run(A, B);
  if (!ta && tb) run(A, B.transpose());
  if (ta && !tb) run(A.transpose(), B);
  if (ta && tb) run(A.transpose(), B.transpose());
}
}  // namespace detail

template <class T>
Tensor<T> matmul(const Tensor<T>& a_in, const Tensor<T>& b_in, bool ta = false, bool tb = false) {
  SINKLAB_CHECK(a_in.dim() >= 2 && b_in.dim() >= 2, "matmul: needs rank >= 2, got ", to_string(a_in.shape()), " and ",
                to_string(b_in.shape()));
  const Tensor<T> a = a_in.contiguous(), b = b_in.contiguous();
  const int64_t ar = a.size(-2), ac = a.size(-1), br = b.size(-2), bc = b.size(-1);
  const int64_t m = ta ? ac : ar, k = ta ? ar : ac, kb = tb ? bc : br, n = tb ? br : bc;
  SINKLAB_CHECK(k == kb, "matmul: inner dimensions differ: ", to_string(a.shape()), (ta ? "ᵀ" : ""), " × ",
                to_string(b.shape()), (tb ? "ᵀ" : ""));
  Shape batch(a.shape().begin(), a.shape().end() - 2);
  const bool shared_b = b.dim() == 2;
  if (!shared_b) {
    Shape bb(b.shape().begin(), b.shape().end() - 2);
    SINKLAB_CHECK(bb == batch, "matmul: batch shapes differ: ", to_string(a.shape()), " and ", to_string(b.shape()));
  }
  Shape out_shape = batch;
  out_shape.push_back(m);
  out_shape.push_back(n);
  Tensor<T> out = Tensor<T>::empty(out_shape);  // every element is written below
  const int64_t nb = sinklab::numel(batch);
  if (shared_b && !ta) {
    // Fold the batch into M: one large GEMM parallelises far better than many small ones.
    detail::gemm_block(a.data(), nb * ar, ac, false, b.data(), br, bc, tb, out.data(), false);
    return out;
  }
  // Small per-batch GEMMs: parallelise over the batch (each product then runs serially, being nested).
  const bool par = nb > 1 && m * n * k < (1 << 20);
#pragma omp parallel for if (par)
  for (int64_t i = 0; i < nb; ++i)
    detail::gemm_block(a.data() + i * ar * ac, ar, ac, ta, b.data() + (shared_b ? 0 : i * br * bc), br, bc, tb,
                       out.data() + i * m * n, false);
  return out;
}

}  // namespace sinklab::backend::cpu
