#pragma once
// RMSNorm and LayerNorm over the last axis, fused (backend/cpu/norm.hpp): one pass per row forward and backward,
// weight/bias gradients reduced deterministically. Weight and bias are optional: an undefined Var, or the overloads
// without them, give the parameter-free norm (undefined Vars may sit in a node's inputs: they never require grad).
#include <memory>
#include <source_location>

#include "sinklab/autograd/var.hpp"
#include "sinklab/backend/cpu/norm.hpp"

namespace sinklab::autograd {

namespace detail {
template <class T>
void check_norm_param(const char* op, const char* what, const Var<T>& p, const Shape& x) {
  if (!p.defined()) return;
  SINKLAB_CHECK(!x.empty() && p.shape() == Shape({x.back()}), op, ": ", what, " of shape ", to_string(p.shape()),
                " for input ", to_string(x), " (needs (D,) with D the last axis)");
}
template <class T>
const T* data_or_null(const Var<T>& p, Tensor<T>& keep) {
  if (!p.defined()) return nullptr;
  keep = p.value().contiguous();
  return keep.data();
}
}  // namespace detail

// y = x r ⊙ w, r = 1/√(mean(x²) + eps);  dx = r (w⊙g − x r² mean(w⊙g⊙x)),  dw = Σ_rows g⊙x r
template <class T>
Var<T> rms_norm(const Var<T>& x, const Var<T>& weight, std::type_identity_t<T> eps,
                std::source_location loc = std::source_location::current()) {
  namespace cpu = backend::cpu;
  detail::check_norm_param("rms_norm", "weight", weight, x.shape());
  const Tensor<T> xc = x.value().contiguous();
  Tensor<T> wc;
  auto f = cpu::rms_norm_forward(xc, detail::data_or_null(weight, wc), T(eps));
  auto rstd = std::make_shared<const std::vector<T>>(std::move(f.rstd));
  return make_result<T>(
      "rms_norm", std::move(f.y), {x, weight},
      [x, weight, xc, wc, rstd](const Tensor<T>& g) {
        auto b = cpu::rms_norm_backward(xc, wc.defined() ? wc.data() : nullptr, *rstd, g.contiguous(),
                                        weight.requires_grad());
        accumulate(x, b.dx);
        if (weight.requires_grad()) accumulate(weight, b.dw);
      },
      loc);
}

template <class T>
Var<T> rms_norm(const Var<T>& x, std::type_identity_t<T> eps,
                std::source_location loc = std::source_location::current()) {
  return rms_norm(x, Var<T>(), eps, loc);
}

// x̂ = (x − μ) r, y = x̂ ⊙ w + b;  dx = r (w⊙g − mean(w⊙g) − x̂ mean(w⊙g⊙x̂)),  dw = Σ_rows g⊙x̂,  db = Σ_rows g
template <class T>
Var<T> layer_norm(const Var<T>& x, const Var<T>& weight, const Var<T>& bias, std::type_identity_t<T> eps,
                  std::source_location loc = std::source_location::current()) {
  namespace cpu = backend::cpu;
  detail::check_norm_param("layer_norm", "weight", weight, x.shape());
  detail::check_norm_param("layer_norm", "bias", bias, x.shape());
  const Tensor<T> xc = x.value().contiguous();
  Tensor<T> wc, bc;
  auto f = cpu::layer_norm_forward(xc, detail::data_or_null(weight, wc), detail::data_or_null(bias, bc), T(eps));
  auto stats = std::make_shared<const std::pair<std::vector<T>, std::vector<T>>>(std::move(f.mean), std::move(f.rstd));
  return make_result<T>(
      "layer_norm", std::move(f.y), {x, weight, bias},
      [x, weight, bias, xc, wc, stats](const Tensor<T>& g) {
        auto b = cpu::layer_norm_backward(xc, wc.defined() ? wc.data() : nullptr, stats->first, stats->second,
                                          g.contiguous(), weight.requires_grad(), bias.requires_grad());
        accumulate(x, b.dx);
        if (weight.requires_grad()) accumulate(weight, b.dw);
        if (bias.requires_grad()) accumulate(bias, b.db);
      },
      loc);
}

template <class T>
Var<T> layer_norm(const Var<T>& x, std::type_identity_t<T> eps,
                  std::source_location loc = std::source_location::current()) {
  return layer_norm(x, Var<T>(), Var<T>(), eps, loc);
}

}  // namespace sinklab::autograd
