#pragma once
// Part of the fused CUDA attention; attention/fused_cuda.cuh has the plan and the entry points.
// The per-row kernels (one thread per row): the CPU epilogue's row stage, gates and vector stage, forward (2) and
// backward (A), through the same functors.
#include "sinklab/backend/cuda/attention/tile_launch.cuh"

namespace sinklab::attention::cuda_detail {

// ---- per-row kernels (one thread per row; the CPU epilogue's math through the same functors) -------------------
inline constexpr int kRowMax = kernel::phi::max_head_dim;  // per-thread scratch rows, as the CPU's row_forward

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

template <class V>
__host__ __device__ inline float log_scale(float m) {  // σ_i (Note [shifted domain])
  if constexpr (V::row_stage::shift_equivariant)
    return 0.f;
  else
    return m;
}

// (2) forward row epilogue: ũ = a'/ρ in place, o = row_forward(ũ).
template <class V, class T>
__global__ void __launch_bounds__(kRowThreads) fwd_rows_kernel(RowArgs<T> a, T* pre_norm, const T* mrow, const T* lrow,
                                                               T* o) {
  using G = typename V::gate;
  using Vec = typename V::vector_stage;
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
  // row_forward (epilogue.hpp)
  T ybuf[G::has_out && G::out_pre_norm ? kRowMax : 1], zbuf[G::has_out && !G::out_pre_norm ? kRowMax : 1];
  const T* g = G::has_out ? a.g_out + row * (G::out_elementwise ? D : 1) : nullptr;
  const T* y = u;
  if constexpr (G::has_out && G::out_pre_norm) {
    G::apply_out(u, ybuf, g, D);
    y = ybuf;
  }
  T* orow = o + row * D;
  if constexpr (G::has_out && !G::out_pre_norm) {
    Vec::forward(y, zbuf, D, T(log_scale<V>(m)), a.norm_w, a.norm_b);
    G::apply_out(zbuf, orow, g, D);
  } else {
    Vec::forward(y, orow, D, T(log_scale<V>(m)), a.norm_w, a.norm_b);
  }
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

// (A) row epilogue backward (row_backward) + the slot column.
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
  const T sigma = T(log_scale<V>(m));
  const T* g = G::has_out ? a.g_out + row * (G::out_elementwise ? D : 1) : nullptr;
  T* dgo = G::has_out ? r.dg_out + row * (G::out_elementwise ? D : 1) : nullptr;
  float* da = r.dA + row * D;
  constexpr bool pre = G::has_out && G::out_pre_norm, post = G::has_out && !G::out_pre_norm;
  T ybuf[pre ? kRowMax : 1], zbuf[post ? kRowMax : 1], dzbuf[post ? kRowMax : 1], dybuf[kRowMax];
  const T* y = u;
  if constexpr (pre) {
    G::apply_out(u, ybuf, g, D);
    y = ybuf;
  }
  const T* dz = dout + row * D;
  if constexpr (post) {
    Vec::forward(y, zbuf, D, sigma, a.norm_w, a.norm_b);
    G::backward_out(zbuf, dout + row * D, g, dzbuf, dgo, D);
    dz = dzbuf;
  }
  Vec::backward(y, dz, dybuf, D, sigma, a.norm_w, Vec::has_weight ? r.dw + row * D : nullptr,
                Vec::has_bias ? r.db + row * D : nullptr);
  if constexpr (pre)
    G::backward_out(u, dybuf, g, da, dgo, D);  // da holds dũ for now
  else
    for (int d = 0; d < D; ++d) da[d] = dybuf[d];
  const int n = a.win.count(i, a.S) + a.slot;
  T sink = T(0);
  if constexpr (Row::uses_sink_logit) sink = a.sink[h];
  const T rho = Row::rho(l, n, m, sink);
  T du_u = T(0);
  for (int d = 0; d < D; ++d) du_u += da[d] * u[d];
  const T drho = -du_u / rho;
  for (int d = 0; d < D; ++d) da[d] /= rho;
  T dl = T(0);
  if constexpr (!V::detached_denominator) {
    dl = drho * Row::drho_dl(l, n, m, sink);
    if constexpr (Row::uses_sink_logit) r.dsink[row] = drho * Row::drho_db(l, n, m, sink);
  } else if constexpr (Row::uses_sink_logit) {
    r.dsink[row] = 0.f;
  }
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
