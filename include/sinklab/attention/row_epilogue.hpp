#pragma once
// The row epilogue, written once for both backends: the CPU op (epilogue.hpp's row_forward/row_backward, used by
// the fused, recurrent and reference loops) and the CUDA row kernels (backend/cuda/attention/rows.cuh, one thread
// per row). Per row, with ũ = a'/ρ and σ from Note [shifted domain] (epilogue.hpp):
//   forward:  y = g_pre ⊙ ũ,  z = N(e^σ y),  o = g_post ⊙ z
//   backward: dũ from do; da' = dũ/ρ; dρ = −(dũ·ũ)/ρ; dℓ' = dρ·∂ρ/∂ℓ' (0 when detached); db_h = dρ·∂ρ/∂b
// Plain arrays and __host__ __device__ policy functors only: no Eigen, no allocation; the scratch rows are sized
// by what the gate needs, so a variant without an output gate keeps none on the device.
#include "sinklab/attention/variant.hpp"

namespace sinklab::attention {

// What the epilogue of one row reads besides ũ, do and the outputs.
template <class T>
struct RowEpilogue {
  int D = 0;
  int n = 0;                // keys the row sees, a sink slot counted
  T m = T(0), l = T(0);     // the row's saved running max and shifted mass ℓ'
  T sink = T(0);            // the head's sink logit (RowSumPlusSink), else 0
  const T* g_out = nullptr; // the row's output gate (D values, or 1 headwise), or null
  const T* norm_w = nullptr;
  const T* norm_b = nullptr;
};

inline constexpr int row_epilogue_max_dim = kernel::phi::max_head_dim;

template <class V, class T>
SINKLAB_HOST_DEVICE inline T row_log_scale(T m) {  // σ_i (Note [shifted domain])
  if constexpr (V::row_stage::shift_equivariant)
    return T(0);
  else
    return m;
}

// o (D) from ũ (D).
template <class V, class T>
SINKLAB_HOST_DEVICE void row_epilogue_forward(const RowEpilogue<T>& r, const T* u, T* o) {
  using G = typename V::gate;
  using Vec = typename V::vector_stage;
  constexpr bool pre = G::has_out && G::out_pre_norm, post = G::has_out && !G::out_pre_norm;
  T ybuf[pre ? row_epilogue_max_dim : 1], zbuf[post ? row_epilogue_max_dim : 1];
  const T sigma = row_log_scale<V>(r.m);
  const T* y = u;
  if constexpr (pre) {
    G::apply_out(u, ybuf, r.g_out, r.D);
    y = ybuf;
  }
  if constexpr (post) {
    Vec::forward(y, zbuf, r.D, sigma, r.norm_w, r.norm_b);
    G::apply_out(zbuf, o, r.g_out, r.D);
  } else {
    Vec::forward(y, o, r.D, sigma, r.norm_w, r.norm_b);
  }
}

// From do (D) to da' (D) and dℓ'; writes the row's dg_out (when the variant has an output gate) and accumulates the
// vector stage's dw/db (D, or null when it has none) and the row's share of d sink_logit into dsink (nothing when
// detached). Accumulating, not returning, keeps the CPU's bits: its callers sum dsink over rows, and `+=` is where
// the compiler may fuse the multiply-add.
template <class V, class T>
SINKLAB_HOST_DEVICE void row_epilogue_backward(const RowEpilogue<T>& r, const T* u, const T* dout, T* da, T& dl,
                                               T* dg_out, T* dw, T* db, T& dsink) {
  using G = typename V::gate;
  using Vec = typename V::vector_stage;
  using Row = typename V::row_stage;
  constexpr bool pre = G::has_out && G::out_pre_norm, post = G::has_out && !G::out_pre_norm;
  const int D = r.D;
  T ybuf[pre ? row_epilogue_max_dim : 1], zbuf[post ? row_epilogue_max_dim : 1],
      dzbuf[post ? row_epilogue_max_dim : 1], dy[row_epilogue_max_dim];
  const T sigma = row_log_scale<V>(r.m);
  const T* y = u;
  if constexpr (pre) {
    G::apply_out(u, ybuf, r.g_out, D);
    y = ybuf;
  }
  const T* dz = dout;
  if constexpr (post) {
    Vec::forward(y, zbuf, D, sigma, r.norm_w, r.norm_b);
    G::backward_out(zbuf, dout, r.g_out, dzbuf, dg_out, D);
    dz = dzbuf;
  }
  Vec::backward(y, dz, dy, D, sigma, r.norm_w, dw, db);
  if constexpr (pre)
    G::backward_out(u, dy, r.g_out, da, dg_out, D);  // da holds dũ for now
  else
    for (int d = 0; d < D; ++d) da[d] = dy[d];
  const T rho = Row::rho(r.l, r.n, r.m, r.sink);
  T du_u = T(0);
  for (int d = 0; d < D; ++d) du_u += da[d] * u[d];
  const T drho = -du_u / rho;
  for (int d = 0; d < D; ++d) da[d] /= rho;
  if constexpr (V::detached_denominator) {
    dl = T(0);
  } else {
    dl = drho * Row::drho_dl(r.l, r.n, r.m, r.sink);
    dsink += drho * Row::drho_db(r.l, r.n, r.m, r.sink);
  }
}

}  // namespace sinklab::attention
