#pragma once
// Part of the fused CUDA attention; attention/fused_cuda.cuh has the plan and the entry points.
// The per-row kernels (one thread per row): the CPU epilogue's row stage, gates and vector stage, forward (2) and
// backward (A), through the same functors.
#include "sinklab/attention/row_epilogue.hpp"
#include "sinklab/backend/cuda/attention/tile_launch.cuh"

namespace sinklab::attention::cuda_detail {

// ---- per-row kernels (one thread per row; the CPU epilogue's math through the same functors) -------------------

template <class T>
struct RowArgs {
  int B, H, S, D;
  Window win;
  int slot, slot_value;
  float scale;
  const T* Q;  // feature-mapped q
  const T* Ks;
  const T* v_slot;
  const T* sink;
  const T* g_out;
  const T* norm_w;
  const T* norm_b;
  __host__ __device__ std::size_t rows() const { return std::size_t(B) * H * S; }
};

// (2) forward row epilogue: ũ = a'/ρ in place, then o from ũ.
template <class V, class T>
__global__ void __launch_bounds__(kRowThreads) fwd_rows_kernel(RowArgs<T> a, T* pre_norm, const T* mrow, const T* lrow,
                                                               T* o) {
  using G = typename V::gate;
  using Row = typename V::row_stage;
  const std::size_t row = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (row >= a.rows()) return;
  const int D = a.D, i = int(row % a.S), h = int((row / a.S) % a.H);
  T* u = pre_norm + row * D;
  const T m = mrow[row], l = lrow[row];
  const int n = a.win.count(i, a.S) + a.slot;
  T sink = T(0);
  if constexpr (Row::uses_sink_logit) sink = a.sink[h];
  const T rho = Row::rho(l, n, m, sink);
  for (int d = 0; d < D; ++d) u[d] = u[d] / rho;
  const T* g = G::has_out ? a.g_out + row * (G::out_elementwise ? D : 1) : nullptr;
  const RowEpilogue<T> re{D, n, m, l, sink, g, a.norm_w, a.norm_b};
  row_epilogue_forward<V>(re, u, o + row * D);  // the CPU's row epilogue (row_epilogue.hpp)
}

template <class T>
struct RowBwdOut {
  float* dA;         // (rows, D) da'
  float* dL;         // (rows) dℓ'
  T* dg_out;         // like g_out, or null
  float* dw;         // (rows, D) per-row dnorm_weight partials (zeroed), or null
  float* db;         // (rows, D) per-row dnorm_bias partials (zeroed), or null
  float* dsink;      // (rows) per-row dsink partials, or null
  T* dQ;             // (rows, D): the slot's share of dq (feature space), or 0
  float* slot_ds;    // (rows) scale·ds of the slot column, or null
  float* slot_w;     // (rows) weight of the slot column (KV slot), or null
};

// (A) row epilogue backward + the slot column.
template <class V, class T>
__global__ void __launch_bounds__(kRowThreads) bwd_rows_kernel(RowArgs<T> a, const T* pre_norm, const T* mrow,
                                                               const T* lrow, const T* dout, RowBwdOut<T> r) {
  using K = typename V::kernel;
  using G = typename V::gate;
  using Vec = typename V::vector_stage;
  using Row = typename V::row_stage;
  const std::size_t row = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (row >= a.rows()) return;
  const int D = a.D, i = int(row % a.S), h = int((row / a.S) % a.H);
  const T* u = pre_norm + row * D;
  const T m = mrow[row], l = lrow[row];
  const T* g = G::has_out ? a.g_out + row * (G::out_elementwise ? D : 1) : nullptr;
  T* dgo = G::has_out ? r.dg_out + row * (G::out_elementwise ? D : 1) : nullptr;
  float* da = r.dA + row * D;
  const int n = a.win.count(i, a.S) + a.slot;
  T sink = T(0);
  if constexpr (Row::uses_sink_logit) sink = a.sink[h];
  const RowEpilogue<T> re{D, n, m, l, sink, g, a.norm_w, a.norm_b};
  T dl = T(0);  // the CPU's row epilogue (row_epilogue.hpp)
  float* dw = Vec::has_weight ? r.dw + row * D : nullptr;
  float* db = Vec::has_bias ? r.db + row * D : nullptr;
  // −0 is the exact identity of +, so the row's share is the product itself, sign of a zero included; a detached
  // denominator stores +0, as it always has.
  T dsink = V::detached_denominator ? T(0) : T(-0.0);
  row_epilogue_backward<V>(re, u, dout + row * D, da, dl, dgo, dw, db, dsink);
  if constexpr (Row::uses_sink_logit) r.dsink[row] = dsink;
  r.dL[row] = dl;

  T* dq = r.dQ + row * D;
  if (a.slot) {
    const T* q = a.Q + row * D;
    const T* ks = a.Ks + std::size_t(h) * D;
    T s = T(0), dp = T(0);
    for (int d = 0; d < D; ++d) s += q[d] * ks[d];
    s = s * T(a.scale) + K::row_offset(n, a.S, T(0));
    if (a.slot_value) {
      const T* vs = a.v_slot + std::size_t(h) * D;
      for (int d = 0; d < D; ++d) dp += da[d] * vs[d];
      r.slot_w[row] = K::weight(s, m);
    }
    const T ds = K::dweight(s, m) * dp + K::dmass(s, m) * dl;
    const T sds = T(a.scale) * ds;
    r.slot_ds[row] = sds;
    for (int d = 0; d < D; ++d) dq[d] = sds * ks[d];
  } else {
    for (int d = 0; d < D; ++d) dq[d] = T(0);
  }
}

}  // namespace sinklab::attention::cuda_detail
