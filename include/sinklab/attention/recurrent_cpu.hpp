#pragma once
// Chunked recurrent form of feature-kernel attention (Katharopoulos et al. 2020, §3.4), O(S·d²) instead of O(S²·d).
// With κ(q_i, k_j) = scale·φ(q_i)·φ(k_j) the causal sums factor through a d×d state:
//     a_i = Σ_{j≤i} κ_ij ṽ_j = intra-chunk (quadratic in the chunk) + scale·φ(q_i)ᵀ S_{<chunk},  S = Σ_j φ(k_j) ṽ_jᵀ
//     ℓ_i = Σ_{j≤i} κ_ij     = intra-chunk + scale·φ(q_i)·z_{<chunk},                         z = Σ_j φ(k_j)
// A sink slot is the initial state (S₀ = φ(k_slot) v_slotᵀ, z₀ = φ(k_slot)). Feature kernels never shift (m = 0),
// so the result is exactly the quadratic form's and it writes the same Saved statistics.
//
// The backward is the same recurrence run both ways. With ds_ij = da'_i·ṽ_j + dℓ'_i (κ(s) = s, so dweight = 1):
//     dq_i = scale·(S_{≤i} da'_i + dℓ'_i z_{≤i})                      prefix state, forward sweep
//     dk_j = scale·(U_{≥j} ṽ_j + y_{≥j}),  dṽ_j = scale·U_{≥j}ᵀ k_j    U = Σ_i q_i da'_iᵀ, y = Σ_i dℓ'_i q_i,
//                                                                     suffix state, reverse sweep
// each split into the chunk's own lower triangle plus the state carried from the chunks before (after) it. Stages
// A, C and D (row epilogue, feature map, shared parameters) are fused_backward's: the slot column is handled there.
#include "sinklab/attention/fused_cpu.hpp"

namespace sinklab::attention {

template <class V, class T>
void recurrent_forward(const AttentionParams<T>& p, const Inputs<T>& in, Outputs<T>& out) {
  using G = typename V::gate;
  static_assert(V::has_recurrent_form, "recurrent_forward needs a feature kernel without a clamp (Feature<φ>)");
  static_assert(!scales_queries_v<V>, "recurrent_forward: a query-scaled kernel (Note [query scale]) has no recurrence");
  SINKLAB_CHECK(p.window.mask == MaskKind::causal && p.window.bias == BiasKind::none,
                "recurrent_forward: the recurrence is causal without score bias (got mask ", to_string(p.window.mask),
                ")");
  SINKLAB_CHECK(out.o && out.saved.row_max && out.saved.row_sum && out.saved.pre_norm,
                "recurrent_forward: o and the saved statistics are required");
  using detail::CMap;
  using detail::RowMat;
  const detail::Context<V, T> c(p, in, out.saved, detail::FeatureCache::fill);
  const int D = p.D, S = p.S;
  constexpr int chunk = 64;
#pragma omp parallel for schedule(static)
  for (int bh = 0; bh < p.B * p.H; ++bh) {
    const int b = bh / p.H, h = bh % p.H, hk = h / c.group;
    RowMat<T> state = RowMat<T>::Zero(D, D), A, Vg, acc;
    Eigen::Matrix<T, Eigen::Dynamic, 1> z = Eigen::Matrix<T, Eigen::Dynamic, 1>::Zero(D);
    if (c.slot) {
      Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>> ks(c.Ks + std::size_t(h) * D, D);
      z += ks;
      if (c.slot_value)
        state.noalias() +=
            ks * Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>>(c.v_slot + std::size_t(h) * D, D);
    }
    const T* Kh = c.Kp + (std::size_t(b) * c.Hkv + hk) * S * D;
    const T* Vh = in.v + (std::size_t(b) * c.Hkv + hk) * S * D;
    for (int i0 = 0; i0 < S; i0 += chunk) {
      const int R = std::min(chunk, S - i0);
      const std::size_t r0 = c.row(b, h, i0);
      CMap<T> Qc(c.Q + r0 * D, R, D), Kc(Kh + std::size_t(i0) * D, R, D);
      Vg = CMap<T>(Vh + std::size_t(i0) * D, R, D);
      if constexpr (G::has_in)
        for (int r = 0; r < R; ++r) Vg.row(r) *= c.g_in[r0 + r];
      A.noalias() = c.scale * (Qc * Kc.transpose());
      for (int r = 0; r < R; ++r)
        for (int cc = r + 1; cc < R; ++cc) A(r, cc) = T(0);
      acc.noalias() = A * Vg;
      acc.noalias() += c.scale * (Qc * state);
      const Eigen::Matrix<T, Eigen::Dynamic, 1> l = A.rowwise().sum() + c.scale * (Qc * z);
      state.noalias() += Kc.transpose() * Vg;
      z += Kc.colwise().sum().transpose();
      for (int r = 0; r < R; ++r) {
        const int i = i0 + r;
        const std::size_t ri = r0 + r;
        const T rho = V::row_stage::rho(l(r), c.n_of(i), T(0), c.sink_of(h));
        T* u = out.saved.pre_norm + ri * D;
        for (int d = 0; d < D; ++d) u[d] = acc(r, d) / rho;
        out.saved.row_max[ri] = T(0);
        out.saved.row_sum[ri] = l(r);
        detail::row_forward(c, b, h, i, u, T(0), out.o + ri * D);
      }
    }
  }
}

namespace detail {

// Stage B of the recurrent backward for one (b, kv head): every query head of the group, in a fixed order.
template <class V, class T>
void recurrent_kv_task(const Context<V, T>& c, int b, int hk, const T* dA, const T* dL, T* dQp, T* dKp, T* dv,
                       T* dg_in) {
  using G = typename V::gate;
  using Vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;
  constexpr int chunk = 64;
  const int D = c.D, S = c.S;
  const std::size_t kv0 = (std::size_t(b) * c.Hkv + hk) * S * D;
  const T* Kh = c.Kp + kv0;
  const T* Vh = c.in->v + kv0;
  MMap<T> dK(dKp + kv0, S, D), dV(dv + kv0, S, D);
  dK.setZero();
  dV.setZero();
  RowMat<T> state(D, D), U(D, D), A, dS, Vg, dVt;
  Vec z(D), y(D);
  // ds over the chunk's lower triangle (the causal mask inside a chunk)
  auto chunk_ds = [&](const CMap<T>& dAc, const T* dLc, int R) {
    dS.noalias() = dAc * Vg.transpose();
    for (int r = 0; r < R; ++r) {
      for (int cc = 0; cc <= r; ++cc) dS(r, cc) += dLc[r];
      for (int cc = r + 1; cc < R; ++cc) dS(r, cc) = T(0);
    }
  };
  auto gated_values = [&](int h, int i0, int R) {
    Vg = CMap<T>(Vh + std::size_t(i0) * D, R, D);
    if constexpr (G::has_in)
      for (int r = 0; r < R; ++r) Vg.row(r) *= c.g_in[c.row(b, h, i0 + r)];
  };
  for (int h = hk * c.group; h < (hk + 1) * c.group; ++h) {
    state.setZero();
    z.setZero();
    for (int i0 = 0; i0 < S; i0 += chunk) {  // forward sweep: dq
      const int R = std::min(chunk, S - i0);
      const std::size_t r0 = c.row(b, h, i0);
      CMap<T> Kc(Kh + std::size_t(i0) * D, R, D), dAc(dA + r0 * D, R, D);
      Eigen::Map<const Vec> dLc(dL + r0, R);
      gated_values(h, i0, R);
      chunk_ds(dAc, dL + r0, R);
      MMap<T> dQc(dQp + r0 * D, R, D);
      dQc.noalias() += c.scale * (dS * Kc);
      dQc.noalias() += c.scale * (dAc * state.transpose());
      dQc.noalias() += c.scale * (dLc * z.transpose());
      state.noalias() += Kc.transpose() * Vg;
      z += Kc.colwise().sum().transpose();
    }
    U.setZero();
    y.setZero();
    for (int i0 = (S - 1) / chunk * chunk; i0 >= 0; i0 -= chunk) {  // reverse sweep: dk, dv
      const int R = std::min(chunk, S - i0);
      const std::size_t r0 = c.row(b, h, i0);
      CMap<T> Qc(c.Q + r0 * D, R, D), Kc(Kh + std::size_t(i0) * D, R, D), dAc(dA + r0 * D, R, D);
      Eigen::Map<const Vec> dLc(dL + r0, R);
      gated_values(h, i0, R);
      chunk_ds(dAc, dL + r0, R);
      A.noalias() = c.scale * (Qc * Kc.transpose());
      for (int r = 0; r < R; ++r)
        for (int cc = r + 1; cc < R; ++cc) A(r, cc) = T(0);
      auto dKc = dK.middleRows(i0, R);
      dKc.noalias() += c.scale * (dS.transpose() * Qc);
      dKc.noalias() += c.scale * (Vg * U.transpose());
      dKc.rowwise() += c.scale * y.transpose();
      dVt.noalias() = A.transpose() * dAc;
      dVt.noalias() += c.scale * (Kc * U);
      if constexpr (G::has_in) {
        T* dgi = dg_in + c.row(b, h, 0);
        CMap<T> Vc(Vh + std::size_t(i0) * D, R, D);
        for (int r = 0; r < R; ++r) {
          dgi[i0 + r] = Vc.row(r).dot(dVt.row(r));
          dV.row(i0 + r) += c.g_in[r0 + r] * dVt.row(r);
        }
      } else {
        dV.middleRows(i0, R) += dVt;
      }
      U.noalias() += Qc.transpose() * dAc;
      y.noalias() += Qc.transpose() * dLc;
    }
  }
}

}  // namespace detail

// Backward of recurrent_forward (same Saved statistics, same gradients as fused_backward), O(S·d²).
template <class V, class T>
void recurrent_backward(const AttentionParams<T>& p, const Inputs<T>& in, const Saved<T>& sv, const T* dout,
                        Grads<T>& g) {
  static_assert(V::has_recurrent_form, "recurrent_backward needs a feature kernel without a clamp (Feature<φ>)");
  static_assert(!scales_queries_v<V>, "recurrent_backward: a query-scaled kernel (Note [query scale]) has no recurrence");
  SINKLAB_CHECK(p.window.mask == MaskKind::causal && p.window.bias == BiasKind::none,
                "recurrent_backward: the recurrence is causal without score bias (got mask ", to_string(p.window.mask),
                ")");
  T* const dg_in = g[param::g_in];
  detail::backward_with<V>(p, in, sv, dout, g,
                           [&](const detail::Context<V, T>& c, const T* dA, const T* dL, T* dQp, T* dKp) {
                             const int BHkv = p.B * p.Hkv;
#pragma omp parallel for schedule(dynamic, 1)
                             for (int t = 0; t < BHkv; ++t)
                               detail::recurrent_kv_task(c, t / p.Hkv, t % p.Hkv, dA, dL, dQp, dKp, g.dv, dg_in);
                           });
}

}  // namespace sinklab::attention
