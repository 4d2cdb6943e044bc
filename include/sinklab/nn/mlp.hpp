#pragma once
// Feed-forward blocks. Gated forms (Shazeer 2020, "GLU Variants Improve Transformer"): SwiGLU, ReGLU, GeGLU use
// down(act(gate(x)) ⊙ up(x)); plain forms ReLU, GELU, Swish use down(act(up(x))).
#include <stdexcept>
#include <string>

#include "sinklab/nn/linear.hpp"

namespace sinklab::nn {

enum class FfnKind { SwiGLU, ReGLU, GeGLU, ReLU, GELU, Swish };

inline bool is_gated(FfnKind k) { return k == FfnKind::SwiGLU || k == FfnKind::ReGLU || k == FfnKind::GeGLU; }

template <class T, class D = Cpu>
Var<T, D> ffn_activation(FfnKind k, const Var<T, D>& x) {
  switch (k) {  // chosen once per block call, outside any inner loop
    case FfnKind::SwiGLU:
    case FfnKind::Swish:
      return autograd::silu(x);
    case FfnKind::ReGLU:
    case FfnKind::ReLU:
      return autograd::relu(x);
    case FfnKind::GeGLU:
    case FfnKind::GELU:
      return autograd::gelu(x);
  }
  return x;
}

template <class T, class D = Cpu>
struct Mlp {
  FfnKind kind = FfnKind::SwiGLU;
  Linear<T, D> gate, up, down;

  Mlp() = default;
  // HF names: mlp.gate_proj (w1), mlp.up_proj (w3), mlp.down_proj (w2).
  Mlp(const std::string& name, int64_t d_model, int64_t d_ff, FfnKind k, const InitContext& ctx, bool bias)
      : kind(k),
        up(name + ".up_proj", d_model, d_ff, ctx, bias),
        // TinyLlama scales the output projection by depth: N(0, 1/√d_ff / n_layers).
        down(name + ".down_proj", d_ff, d_model, ctx, bias, 1.0 / std::sqrt(double(d_ff)) / double(ctx.n_layers)) {
    if (is_gated(k)) gate = Linear<T, D>(name + ".gate_proj", d_model, d_ff, ctx, bias);
  }
  Var<T, D> operator()(const Var<T, D>& x) const {
    if (is_gated(kind)) return down(autograd::mul(ffn_activation(kind, gate(x)), up(x)));
    return down(ffn_activation(kind, up(x)));
  }
  void collect(ParamList<T, D>& out) const {
    if (is_gated(kind)) gate.collect(out);
    up.collect(out);
    down.collect(out);
  }
};

}  // namespace sinklab::nn
