#pragma once
// Chunked recurrent form of feature-kernel attention (Katharopoulos et al. 2020, §3.4), O(S·d²) instead of O(S²·d).
// With κ(q_i, k_j) = scale·φ(q_i)·φ(k_j) the causal sums factor through a d×d state:
//     a_i = Σ_{j≤i} κ_ij ṽ_j = intra-chunk (quadratic in the chunk) + scale·φ(q_i)ᵀ S_{<chunk},  S = Σ_j φ(k_j) ṽ_jᵀ
//     ℓ_i = Σ_{j≤i} κ_ij     = intra-chunk + scale·φ(q_i)·z_{<chunk},                         z = Σ_j φ(k_j)
// A sink slot is the initial state (S₀ = φ(k_slot) v_slotᵀ, z₀ = φ(k_slot)). Feature kernels never shift (m = 0),
// so the result is exactly the quadratic form's and it writes the same Saved statistics: fused_backward applies.
#include "sinklab/attention/fused_cpu.hpp"

namespace sinklab::attention {

template <class V, class T>
void recurrent_forward(const AttentionParams<T>& p, const Inputs<T>& in, Outputs<T>& out) {
  using G = typename V::gate;
  static_assert(V::has_recurrent_form, "recurrent_forward needs a feature kernel without a clamp (Feature<φ>)");
  SINKLAB_CHECK(p.window.mask == MaskKind::causal && p.window.bias == BiasKind::none,
                "recurrent_forward: the recurrence is causal without score bias (got mask ", to_string(p.window.mask),
                ")");
  SINKLAB_CHECK(out.o && out.saved.row_max && out.saved.row_sum && out.saved.pre_norm,
                "recurrent_forward: o and the saved statistics are required");
  using detail::CMap;
  using detail::RowMat;
  const detail::Context<V, T> c(p, in);
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
            ks * Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>>(in.v_slot + std::size_t(h) * D, D);
    }
    const T* Kh = c.Kp + (std::size_t(b) * c.Hkv + hk) * S * D;
    const T* Vh = in.v + (std::size_t(b) * c.Hkv + hk) * S * D;
    for (int i0 = 0; i0 < S; i0 += chunk) {
      const int R = std::min(chunk, S - i0);
      const std::size_t r0 = c.row(b, h, i0);
      CMap<T> Qc(c.Q + r0 * D, R, D), Kc(Kh + std::size_t(i0) * D, R, D);
      Vg = CMap<T>(Vh + std::size_t(i0) * D, R, D);
      if constexpr (G::has_in)
        for (int r = 0; r < R; ++r) Vg.row(r) *= in.g_in[r0 + r];
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

}  // namespace sinklab::attention
