#pragma once
// What every attention loop (fused, recurrent, reference, weights) shares once the row's accumulators are known:
// the per-call context (scale, window, bias table, feature-mapped q/k) and the row epilogue — row stage,
// gates and vector stage — forward and backward. Per row, with ũ = a'/ρ and σ from Note [shifted domain]:
//   forward:  y = g_pre ⊙ ũ,  z = N(e^σ y),  o = g_post ⊙ z
//   backward: dũ from do; da' = dũ/ρ; dρ = −(dũ·ũ)/ρ; dℓ' = dρ·∂ρ/∂ℓ' (0 when detached); db_h += dρ·∂ρ/∂b
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include "sinklab/attention/named_tensors.hpp"
#include "sinklab/attention/params.hpp"
#include "sinklab/attention/phi_rows_cpu.hpp"
#include "sinklab/attention/query_scale_cpu.hpp"
#include "sinklab/attention/row_epilogue.hpp"
#include "sinklab/attention/variant.hpp"

namespace sinklab::attention::detail {

// φ over n rows of length D, and its backward dx = (∂φ/∂x)ᵀ dy (accumulating dW1, dW2 for learnable maps): the
// feature map's block path (phi_rows_cpu.hpp). `hidden` is the shared MLP's relu(W1·x), kept for the backward.
template <class Phi, class T>
void phi_forward_rows(const T* x, T* y, long n, int D, const kernel::PhiParams<T>& p, T* hidden = nullptr) {
  static_assert(kernel::phi_rows_declared<Phi>());
  kernel::PhiRows<Phi>::forward(x, y, n, D, p, hidden);
}
template <class Phi, class T>
void phi_backward_rows(const T* x, const T* dy, T* dx, long n, int D, const kernel::PhiParams<T>& p, T* dw1, T* dw2,
                       const T* hidden = nullptr) {
  static_assert(kernel::phi_rows_declared<Phi>());
  kernel::PhiRows<Phi>::backward(x, dy, dx, n, D, p, dw1, dw2, hidden);
}

// What a Context does with Saved's optional feature buffers (params.hpp).
enum class FeatureCache { none, fill, read };

// The per-call context; its base holds the built-in policies' tensors (g_in, g_out, norm_w, norm_b, sink, k_slot,
// v_slot, mlp_w1, mlp_w2), looked up once.
template <class V, class T>
struct Context : NamedInputs<T> {
  using NamedInputs<T>::g_out;
  using NamedInputs<T>::sink;
  using NamedInputs<T>::k_slot;
  using K = typename V::kernel;
  using Row = typename V::row_stage;
  using Vec = typename V::vector_stage;
  using G = typename V::gate;
  static_assert(!scales_queries_v<V>, "a query-scaled kernel runs through the entry points (Note [query scale])");

  int B, H, Hkv, S, D, group;
  T scale;
  typename V::window win;  // the Variant's window policy (window.hpp), built from the runtime spec
  bool has_bias, slot, slot_value;
  int bias_width;
  std::vector<T> bias;  // (H, 2S−1), see Note [one window type]
  const Inputs<T>* in;
  kernel::PhiParams<T> phi{};
  // q, k and the slot key after the feature map (the raw inputs for score kernels)
  std::vector<T> qf, kf, sf;
  const T* Q;
  const T* Kp;
  const T* Ks;  // (H, D) or null
  // the shared MLP's relu(W1·x) for q and k rows, when the caller's Saved keeps them (else null: recompute)
  const T* q_hidden = nullptr;
  const T* k_hidden = nullptr;

  // fill: the forward maps q, k into `sv`'s feature buffers (those that are set); read: the backward takes them from
  // there. Buffers left unset are mapped into the context's own storage either way.
  Context(const AttentionParams<T>& p, const Inputs<T>& inp, const Saved<T>& sv = {},
          FeatureCache cache = FeatureCache::none)
      : NamedInputs<T>(inp), B(p.B), H(p.H), Hkv(p.Hkv), S(p.S), D(p.D), group(p.H / p.Hkv), in(&inp) {
    check_shape(p);
    check_inputs(V::params, p, inp, "attention");
    if constexpr (K::is_feature)
      SINKLAB_CHECK(p.window.bias == BiasKind::none,
                    "attention: score biases (ALiBi, relative buckets) act on scores; feature kernel '", K::name,
                    "' has none to add them to");
    scale =
        p.scale != T(0) ? p.scale : (K::scale_mode == ScaleMode::unit ? T(1) : T(1) / std::sqrt(static_cast<T>(p.D)));
    win = V::window::from(p.window, p.S);
    has_bias = p.window.bias != BiasKind::none;
    bias_width = 2 * S - 1;
    bias = make_bias_table<T>(p.window, H, S, p.alibi_slopes, p.bucket_table);
    slot = p.window.slot != SlotKind::none;
    slot_value = p.window.slot == SlotKind::kv;
    phi = {this->mlp_w1, this->mlp_w2};
    Q = inp.q;
    Kp = inp.k;
    Ks = slot ? k_slot : nullptr;
    if constexpr (K::is_feature)
      map_all(sv, cache);
  }

  void map_all(const Saved<T>& sv, FeatureCache cache) {
    using Phi = typename K::phi_type;
    const bool keep = cache != FeatureCache::none && sv.q_features && sv.k_features;
    const bool keep_hidden = keep && Phi::learnable && sv.q_hidden && sv.k_hidden;
    if (!keep) {
      qf.resize(std::size_t(B) * H * S * D);
      kf.resize(std::size_t(B) * Hkv * S * D);
    }
    T* qout = keep ? sv.q_features : qf.data();
    T* kout = keep ? sv.k_features : kf.data();
    Q = qout;
    Kp = kout;
    if (keep_hidden) {
      q_hidden = sv.q_hidden;
      k_hidden = sv.k_hidden;
    }
    if (keep && cache == FeatureCache::read) return map_slot();
    const long nq = long(B) * H * S, nk = long(B) * Hkv * S, chunk = 256;
    const long cq = (nq + chunk - 1) / chunk, ck = (nk + chunk - 1) / chunk;
#pragma omp parallel for schedule(static)
    for (long c = 0; c < cq + ck; ++c) {
      const bool isq = c < cq;
      const long r0 = (isq ? c : c - cq) * chunk, n = std::min(chunk, (isq ? nq : nk) - r0);
      T* hid = keep_hidden ? (isq ? sv.q_hidden : sv.k_hidden) + r0 * D : nullptr;
      phi_forward_rows<Phi>((isq ? in->q : in->k) + r0 * D, (isq ? qout : kout) + r0 * D, n, D, phi, hid);
    }
    map_slot();
  }

  void map_slot() {  // the slot key is H rows: always mapped here
    using Phi = typename K::phi_type;
    if (slot) {
      sf.resize(std::size_t(H) * D);
      for (int h = 0; h < H; ++h) Phi::forward(k_slot + std::size_t(h) * D, sf.data() + std::size_t(h) * D, D, phi);
      Ks = sf.data();
    }
  }

  T bias_at(int h, int i, int j) const { return bias[std::size_t(h) * bias_width + (j - i + S - 1)]; }
  int n_of(int i) const { return win.count(i, S) + (slot ? 1 : 0); }
  T sink_of(int h) const {
    if constexpr (Row::uses_sink_logit)
      return sink[h];
    else
      return T(0);
  }
  // (b, h, i) row offsets into (B, H, S) and (B, H, S, D) arrays
  std::size_t row(int b, int h, int i) const { return (std::size_t(b) * H + h) * S + i; }
  const T* g_out_row(int b, int h, int i) const {
    if constexpr (G::has_out)
      return g_out + row(b, h, i) * (G::out_elementwise ? D : 1);
    else
      return nullptr;
  }
};

// The row epilogue (row_epilogue.hpp) for row (b, h, i) of this call: o_i from ũ_i (the forward reads only the
// gate, the norm's parameters and m), and back.
template <class V, class T>
void row_forward(const Context<V, T>& c, int b, int h, int i, const T* u, T m, T* o) {
  RowEpilogue<T> r;
  r.D = c.D;
  r.m = m;
  r.g_out = c.g_out_row(b, h, i);
  r.norm_w = c.norm_w;
  r.norm_b = c.norm_b;
  row_epilogue_forward<V>(r, u, o);
}

// From do_i to da'_i (D) and dℓ'_i; writes the row's dg_out, accumulates dw/db (D) and dsink (scalar).
template <class V, class T>
void row_backward(const Context<V, T>& c, int b, int h, int i, const T* u, T m, T l, const T* dout, T* da, T& dl,
                  T* dg_out, T* dw, T* db, T& dsink) {
  const RowEpilogue<T> r{c.D, c.n_of(i), m, l, c.sink_of(h), c.g_out_row(b, h, i), c.norm_w, c.norm_b};
  row_epilogue_backward<V>(r, u, dout, da, dl, dg_out, dw, db, dsink);
}

}  // namespace sinklab::attention::detail
