#pragma once
// GEMM on CPU tensors through Eigen (threaded by Eigen over M/N, so results do not depend on the thread count).
// matmul(a, b, ta, tb): op(a) (…, M, K) × op(b) (…, K, N), where op transposes the last two axes when asked.
// Batch axes must match exactly, or b may be 2-D and shared by every batch (the Linear-layer case).
#include "sinklab/core/parallel.hpp"
#include "sinklab/tensor/tensor.hpp"

namespace sinklab::backend::cpu {

namespace detail {
template <class T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// out (M×N) (+)= op(A) op(B) on raw row-major blocks.
template <class T>
void gemm_block(const T* a, int64_t ar, int64_t ac, bool ta, const T* b, int64_t br, int64_t bc, bool tb, T* out,
                bool accumulate) {
  Eigen::Map<const RowMat<T>> A(a, ar, ac), B(b, br, bc);
  const int64_t m = ta ? ac : ar, n = tb ? br : bc;
  Eigen::Map<RowMat<T>> C(out, m, n);
  auto run = [&](const auto& x, const auto& y) {
    if (accumulate)
      C.noalias() += x * y;
    else
      C.noalias() = x * y;
  };
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
  Tensor<T> out(out_shape);
  const int64_t nb = sinklab::numel(batch);
  if (shared_b && !ta) {
    // Fold the batch into M: one large GEMM parallelises far better than many small ones.
    detail::gemm_block(a.data(), nb * ar, ac, false, b.data(), br, bc, tb, out.data(), false);
    return out;
  }
  const bool par = nb > 1 && m * n * k < (1 << 20);  // small per-batch GEMMs: parallelise over the batch
#pragma omp parallel for if (par)
  for (int64_t i = 0; i < nb; ++i)
    detail::gemm_block(a.data() + i * ar * ac, ar, ac, ta, b.data() + (shared_b ? 0 : i * br * bc), br, bc, tb,
                       out.data() + i * m * n, false);
  return out;
}

}  // namespace sinklab::backend::cpu
