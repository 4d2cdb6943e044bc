#pragma once
// RMSNorm (Zhang & Sennrich 2019) and LayerNorm (Ba et al. 2016) over the last axis, learnable gain (and bias).
#include "sinklab/autograd.hpp"
#include "sinklab/nn/module.hpp"

namespace sinklab::nn {

enum class NormKind { RMSNorm, LayerNorm };

template <class T, class D = Cpu>
struct Norm {
  NormKind kind = NormKind::RMSNorm;
  T eps = T(1e-5);
  Var<T, D> weight;  // (D)
  Var<T, D> bias;    // (D), LayerNorm only

  Norm() = default;
  Norm(const std::string& name, int64_t dim, NormKind k, double eps_)
      : kind(k), eps(static_cast<T>(eps_)), weight(make_const_param<T, D>(name + ".weight", {dim}, T(1))) {
    if (kind == NormKind::LayerNorm) bias = make_const_param<T, D>(name + ".bias", {dim}, T(0));
  }
  Var<T, D> operator()(const Var<T, D>& x) const {
    return kind == NormKind::RMSNorm ? autograd::rms_norm(x, weight, eps) : autograd::layer_norm(x, weight, bias, eps);
  }
  void collect(ParamList<T, D>& out) const {
    out.push_back({weight.name(), weight, false});
    if (bias.defined()) out.push_back({bias.name(), bias, false});
  }
};

}  // namespace sinklab::nn
