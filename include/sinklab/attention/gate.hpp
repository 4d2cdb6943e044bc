#pragma once
// Gate axis (DESIGN §3). Gate values arrive precomputed in (0, 1) (the block computes σ(W x + b)); the attention op
// only multiplies and returns their gradients.
//   InGate<Headwise>:  ṽ_j = g_in[b,h,j] · v_j                      g_in  (B, H, S)
//   OutGate<Headwise|Elementwise, PreNorm|PostNorm>:
//     PreNorm:  o_i = N(g_out_i ⊙ u_i)   PostNorm: o_i = g_out_i ⊙ N(u_i)   g_out (B, H, S) or (B, H, S, D)
// RNN perspective (Mongaras & Larson): headwise in/out gates, out gate before the norm. Qwen gated attention
// (Qiu et al. 2025, "G1"): elementwise sigmoid gate after SDPA.
#include "sinklab/attention/param_spec.hpp"
#include "sinklab/core/config.hpp"

namespace sinklab::attention {
namespace param {
// Gate values are activations: the layer computes σ(W x + b) on every call (Note [parameter lists]).
inline constexpr ParamSpec g_in{"g_in", "", Extent::row, Source::activation};
inline constexpr ParamSpec g_out_headwise{"g_out", "", Extent::row, Source::activation};
inline constexpr ParamSpec g_out_elementwise{"g_out", "", Extent::row_dim, Source::activation};
}  // namespace param

namespace gate {

struct Headwise {
  static constexpr bool elementwise = false;
};
struct Elementwise {
  static constexpr bool elementwise = true;
};
struct PreNorm {
  static constexpr bool pre_norm = true;
};
struct PostNorm {
  static constexpr bool pre_norm = false;
};

struct NoInGate {
  static constexpr bool present = false;
};
template <class Granularity = Headwise>
struct InGate {
  static_assert(!Granularity::elementwise, "InGate is headwise: one scalar per (head, key position) scales v_j");
  static constexpr bool present = true;
  static constexpr std::array params{param::g_in};
};

struct NoOutGate {
  static constexpr bool present = false, elementwise = false, pre_norm = false;
};
template <class Granularity = Headwise, class Position = PreNorm>
struct OutGate {
  static constexpr bool present = true;
  static constexpr bool elementwise = Granularity::elementwise;
  static constexpr bool pre_norm = Position::pre_norm;
  static constexpr std::array params{elementwise ? param::g_out_elementwise : param::g_out_headwise};
};

// The composed gate axis; the named aliases below are what Variant sees.
template <class In, class Out>
struct Gates {
  using in_gate = In;
  using out_gate = Out;
  static constexpr bool has_in = In::present;
  static constexpr bool has_out = Out::present;
  static constexpr bool out_elementwise = Out::elementwise;
  static constexpr bool out_pre_norm = Out::pre_norm;
  static constexpr auto params = join_params<In, Out>();

  // y = g ⊙ x (g is one scalar when headwise, D values when elementwise)
  template <class T>
  SINKLAB_HOST_DEVICE static void apply_out(const T* x, T* y, const T* g, int D) {
    for (int d = 0; d < D; ++d) y[d] = x[d] * g[out_elementwise ? d : 0];
  }
  // dx = g ⊙ dy; dg = dy ⊙ x (elementwise) or Σ_d dy·x (headwise). dg is overwritten.
  template <class T>
  SINKLAB_HOST_DEVICE static void backward_out(const T* x, const T* dy, const T* g, T* dx, T* dg, int D) {
    T acc = T(0);
    for (int d = 0; d < D; ++d) {
      if constexpr (out_elementwise)
        dg[d] = dy[d] * x[d];
      else
        acc += dy[d] * x[d];
      dx[d] = dy[d] * g[out_elementwise ? d : 0];
    }
    if constexpr (!out_elementwise) dg[0] = acc;
  }
};

using None = Gates<NoInGate, NoOutGate>;
template <class Granularity = Headwise, class Position = PreNorm>
using Out = Gates<NoInGate, OutGate<Granularity, Position>>;
using In = Gates<InGate<Headwise>, NoOutGate>;
template <class Granularity = Headwise, class Position = PreNorm>
using Both = Gates<InGate<Headwise>, OutGate<Granularity, Position>>;

}  // namespace gate
}  // namespace sinklab::attention
