#pragma once
// Linear layer: y = x Wᵀ (+ b), W (out, in) as in PyTorch and Hugging Face checkpoints.
#include "sinklab/autograd.hpp"
#include "sinklab/nn/module.hpp"

namespace sinklab::nn {

template <class T, class D = Cpu>
struct Linear {
  Var<T, D> weight;  // (out, in)
  Var<T, D> bias;    // (out) or undefined

  Linear() = default;
  Linear(const std::string& name, int64_t in, int64_t out, const InitContext& ctx, bool with_bias = false,
         double std_override = 0)
      : weight(init_linear_weight<T, D>(name + ".weight", out, in, ctx, std_override)) {
    if (with_bias) {
      bias = ctx.scheme == InitScheme::PyTorch
                 ? make_uniform_param<T, D>(name + ".bias", {out}, 1.0 / std::sqrt(double(in)), ctx)
                 : make_const_param<T, D>(name + ".bias", {out}, T(0));
    }
  }
  Var<T, D> operator()(const Var<T, D>& x) const {
    return bias.defined() ? autograd::linear(x, weight, bias) : autograd::linear(x, weight);
  }
  void collect(ParamList<T, D>& out) const {
    out.push_back({weight.name(), weight, true});
    if (bias.defined()) out.push_back({bias.name(), bias, false});
  }
};

}  // namespace sinklab::nn
