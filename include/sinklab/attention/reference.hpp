#pragma once
// Naive materialised reference for any Variant (tests, probes): per (b, h) it builds the full S × (S + slot) score
// and weight matrices at absolute scale (m = 0, no tiling, no shift) and applies the math of DESIGN §3 directly.
// The backward is the explicit chain rule on those matrices. It shares only the policy hooks and the row epilogue
// with the fused op, so "fused == reference" checks tiling, masking, shifting and the GQA/slot bookkeeping, and
// the double-precision gradchecks check the hooks themselves.
#include <cstddef>
#include <vector>

#include "sinklab/attention/epilogue.hpp"

namespace sinklab::attention {
namespace detail {

// Column c of a row: c = 0 is the slot when present, then keys j = c − slot.
template <class V, class T>
struct DenseHead {
  int cols = 0;
  std::vector<T> s, w;             // (S, cols) scores and weights; invisible entries have w = 0
  std::vector<unsigned char> vis;  // (S, cols)
  std::vector<T> l;                // (S) row mass
};

template <class V, class T>
DenseHead<V, T> dense_head(const Context<V, T>& c, int b, int h) {
  using K = typename V::kernel;
  const int S = c.S, D = c.D, sl = c.slot ? 1 : 0, hk = h / c.group;
  DenseHead<V, T> dh;
  dh.cols = S + sl;
  dh.s.assign(std::size_t(S) * dh.cols, T(0));
  dh.w.assign(dh.s.size(), T(0));
  dh.vis.assign(dh.s.size(), 0);
  dh.l.assign(S, T(0));
  for (int i = 0; i < S; ++i) {
    const T* q = c.Q + c.row(b, h, i) * D;
    const T off = K::row_offset(c.n_of(i), c.S, T(0));
    for (int col = 0; col < dh.cols; ++col) {
      const int j = col - sl;
      const bool visible = j < 0 || c.win.visible(i, j);
      if (!visible) continue;
      const T* k = j < 0 ? c.Ks + std::size_t(h) * D : c.Kp + ((std::size_t(b) * c.Hkv + hk) * S + j) * D;
      T s = T(0);
      for (int d = 0; d < D; ++d) s += q[d] * k[d];
      s = s * c.scale + off + (j >= 0 && c.has_bias ? c.bias_at(h, i, j) : T(0));
      const std::size_t e = std::size_t(i) * dh.cols + col;
      dh.s[e] = s;
      dh.vis[e] = 1;
      dh.w[e] = K::weight(s, T(0));
      dh.l[i] += K::mass(s, T(0));
    }
  }
  return dh;
}

// ṽ for column col of head (b, h): gated value, slot value or zero.
template <class V, class T>
const T* dense_value(const Context<V, T>& c, int b, int h, int col, T& gate) {
  using G = typename V::gate;
  const int sl = c.slot ? 1 : 0, j = col - sl, hk = h / c.group;
  gate = T(1);
  if (j < 0) return c.slot_value ? c.v_slot + std::size_t(h) * c.D : nullptr;
  if constexpr (G::has_in) gate = c.g_in[c.row(b, h, j)];
  return c.in->v + ((std::size_t(b) * c.Hkv + hk) * c.S + j) * c.D;
}

}  // namespace detail

// o (B, H, S, D); saved (optional, may be null pointers): the absolute-scale statistics (row_max = 0).
template <class V, class T>
void reference_forward_unscaled(const AttentionParams<T>& p, const Inputs<T>& in, T* o, Saved<T> saved) {
  const detail::Context<V, T> c(p, in);
  const int D = p.D;
  std::vector<T> u(D);
  for (int b = 0; b < p.B; ++b)
    for (int h = 0; h < p.H; ++h) {
      const auto dh = detail::dense_head(c, b, h);
      for (int i = 0; i < p.S; ++i) {
        std::vector<T> a(D, T(0));
        for (int col = 0; col < dh.cols; ++col) {
          const T w = dh.w[std::size_t(i) * dh.cols + col];
          T gate;
          const T* v = detail::dense_value(c, b, h, col, gate);
          if (v && w != T(0))
            for (int d = 0; d < D; ++d) a[d] += w * gate * v[d];
        }
        const T rho = V::row_stage::rho(dh.l[i], c.n_of(i), T(0), c.sink_of(h));
        for (int d = 0; d < D; ++d) u[d] = a[d] / rho;
        const std::size_t ri = c.row(b, h, i);
        detail::row_forward(c, b, h, i, u.data(), T(0), o + ri * D);
        if (saved.row_max) saved.row_max[ri] = T(0);
        if (saved.row_sum) saved.row_sum[ri] = dh.l[i];
        if (saved.pre_norm) std::copy(u.begin(), u.end(), saved.pre_norm + ri * D);
      }
    }
}

// Gradients of Σ dout ⊙ o with respect to every input (same contract as fused_backward).
template <class V, class T>
void reference_backward_unscaled(const AttentionParams<T>& p, const Inputs<T>& in, const T* dout, Grads<T>& g) {
  using K = typename V::kernel;
  using G = typename V::gate;
  using Vec = typename V::vector_stage;
  using Row = typename V::row_stage;
  const detail::Context<V, T> c(p, in);
  check_grads(V::params, p, g, "reference_backward");
  const NamedGrads<T> dn(g);  // the built-in policies' gradients
  const int B = p.B, H = p.H, S = p.S, D = p.D, sl = c.slot ? 1 : 0;
  std::vector<T> dQf(p.q_size(), T(0)), dKf(p.kv_size(), T(0)), dKs(std::size_t(H) * D, T(0));
  std::fill(g.dv, g.dv + p.kv_size(), T(0));
  if (dn.g_in) std::fill(dn.g_in, dn.g_in + p.row_count(), T(0));
  if (dn.norm_w) std::fill(dn.norm_w, dn.norm_w + D, T(0));
  if (dn.norm_b) std::fill(dn.norm_b, dn.norm_b + D, T(0));
  if (dn.sink) std::fill(dn.sink, dn.sink + H, T(0));
  if (dn.v_slot) std::fill(dn.v_slot, dn.v_slot + std::size_t(H) * D, T(0));
  std::vector<T> u(D), da(D), dw(D, T(0)), db(D, T(0));
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < H; ++h) {
      const int hk = h / c.group;
      const auto dh = detail::dense_head(c, b, h);
      T dsink = T(0);
      for (int i = 0; i < S; ++i) {
        const std::size_t ri = c.row(b, h, i);
        // forward of this row again
        std::vector<T> a(D, T(0));
        for (int col = 0; col < dh.cols; ++col) {
          T gate;
          const T* v = detail::dense_value(c, b, h, col, gate);
          const T w = dh.w[std::size_t(i) * dh.cols + col];
          if (v)
            for (int d = 0; d < D; ++d) a[d] += w * gate * v[d];
        }
        const T rho = Row::rho(dh.l[i], c.n_of(i), T(0), c.sink_of(h));
        for (int d = 0; d < D; ++d) u[d] = a[d] / rho;
        T dl;
        T* dgo = G::has_out ? dn.g_out + ri * (G::out_elementwise ? D : 1) : nullptr;
        detail::row_backward(c, b, h, i, u.data(), T(0), dh.l[i], dout + ri * D, da.data(), dl, dgo, dw.data(),
                             db.data(), dsink);
        // through the weights: ds = κ'(s)(da·ṽ) + mass'(s) dℓ
        const T* q = c.Q + ri * D;
        for (int col = 0; col < dh.cols; ++col) {
          const std::size_t e = std::size_t(i) * dh.cols + col;
          if (!dh.vis[e]) continue;
          const int j = col - sl;
          T gate;
          const T* v = detail::dense_value(c, b, h, col, gate);
          T dp = T(0);
          if (v)
            for (int d = 0; d < D; ++d) dp += da[d] * gate * v[d];
          const T s = dh.s[e];
          const T ds = K::dweight(s, T(0)) * dp + K::dmass(s, T(0)) * dl;
          const T* k = j < 0 ? c.Ks + std::size_t(h) * D : c.Kp + ((std::size_t(b) * c.Hkv + hk) * S + j) * D;
          T* dk = j < 0 ? dKs.data() + std::size_t(h) * D : dKf.data() + ((std::size_t(b) * c.Hkv + hk) * S + j) * D;
          for (int d = 0; d < D; ++d) {
            dQf[ri * D + d] += c.scale * ds * k[d];
            dk[d] += c.scale * ds * q[d];
          }
          const T w = dh.w[e];
          if (j < 0) {
            if (c.slot_value)
              for (int d = 0; d < D; ++d) dn.v_slot[std::size_t(h) * D + d] += w * da[d];
          } else {
            T* dvj = g.dv + ((std::size_t(b) * c.Hkv + hk) * S + j) * D;
            T vda = T(0);
            for (int d = 0; d < D; ++d) {
              dvj[d] += w * gate * da[d];
              vda += v[d] * da[d];
            }
            if constexpr (G::has_in) dn.g_in[c.row(b, h, j)] += w * vda;
          }
        }
      }
      if (dn.sink) dn.sink[h] += dsink;
    }
  if constexpr (Vec::has_weight) std::copy(dw.begin(), dw.end(), dn.norm_w);
  if constexpr (Vec::has_bias) std::copy(db.begin(), db.end(), dn.norm_b);
  // through φ
  if constexpr (K::is_feature) {
    using Phi = typename K::phi_type;
    if (dn.mlp_w1) std::fill(dn.mlp_w1, dn.mlp_w1 + std::size_t(D) * D, T(0));
    if (dn.mlp_w2) std::fill(dn.mlp_w2, dn.mlp_w2 + std::size_t(D) * D, T(0));
    for (std::size_t r = 0; r < p.row_count(); ++r)
      Phi::backward(in.q + r * D, dQf.data() + r * D, g.dq + r * D, D, c.phi, dn.mlp_w1, dn.mlp_w2);
    for (std::size_t r = 0; r < p.kv_size() / D; ++r)
      Phi::backward(in.k + r * D, dKf.data() + r * D, g.dk + r * D, D, c.phi, dn.mlp_w1, dn.mlp_w2);
    if (c.slot)
      for (int h = 0; h < H; ++h)
        Phi::backward(c.k_slot + std::size_t(h) * D, dKs.data() + std::size_t(h) * D, dn.k_slot + std::size_t(h) * D,
                      D, c.phi, dn.mlp_w1, dn.mlp_w2);
  } else {
    std::copy(dQf.begin(), dQf.end(), g.dq);
    std::copy(dKf.begin(), dKf.end(), g.dk);
    if (c.slot) std::copy(dKs.begin(), dKs.end(), dn.k_slot);
  }
}

// The entry points: a kernel's query scale first (Note [query scale]), then the loops above.
template <class V, class T>
void reference_forward(const AttentionParams<T>& p, const Inputs<T>& in, T* o, Saved<T> saved = {}) {
  if constexpr (scales_queries_v<V>)
    query_scale::forward<V>(p, in,
                            [&](const Inputs<T>& q) { reference_forward_unscaled<unscaled_variant_t<V>>(p, q, o, saved); });
  else
    reference_forward_unscaled<V>(p, in, o, saved);
}
template <class V, class T>
void reference_backward(const AttentionParams<T>& p, const Inputs<T>& in, const T* dout, Grads<T>& g) {
  if constexpr (scales_queries_v<V>)
    query_scale::backward<V>(p, in, g, [&](const Inputs<T>& q) {
      reference_backward_unscaled<unscaled_variant_t<V>>(p, q, dout, g);
    });
  else
    reference_backward_unscaled<V>(p, in, dout, g);
}

}  // namespace sinklab::attention
