#pragma once
// RMSNorm and LayerNorm over the last axis, fused (backend/cpu/norm.hpp): one pass per row forward and backward,
// weight/bias gradients reduced deterministically. Weight and bias are optional: an undefined Var, or the overloads
// without them, give the parameter-free norm (undefined Vars may sit in a node's inputs: they never require grad).
#include <memory>
#include <source_location>

#include "sinklab/autograd/var.hpp"

namespace sinklab::autograd {

namespace detail {
template <class T, class D>
void check_norm_param(const char* op, const char* what, const Var<T, D>& p, const Shape& x) {
  if (!p.defined()) return;
  SINKLAB_CHECK(!x.empty() && p.shape() == Shape({x.back()}), op, ": ", what, " of shape ", to_string(p.shape()),
                " for input ", to_string(x), " (needs (D,) with D the last axis)");
}
template <class T, class D>
Tensor<T, D> value_or_undefined(const Var<T, D>& p) {
  return p.defined() ? p.value() : Tensor<T, D>();
}
}  // namespace detail

template <class T, class D>
Var<T, D> rms_norm(const Var<T, D>& x, const Var<T, D>& weight, std::type_identity_t<T> eps,
                   std::source_location loc = std::source_location::current()) {
  using Ops = TensorOps<D>;
  detail::check_norm_param("rms_norm", "weight", weight, x.shape());
  auto n = std::make_shared<typename Ops::template Norm<T>>(
      Ops::rms_norm(x.value(), detail::value_or_undefined(weight), T(eps)));
  Tensor<T, D> y = std::move(n->y);
  return make_result<T>(
      "rms_norm", std::move(y), {x, weight},
      [x, weight, n](const Tensor<T, D>& g) {
        auto b = Ops::rms_norm_grad(*n, g, weight.requires_grad());
        accumulate(x, b.dx);
        if (weight.requires_grad()) accumulate(weight, b.dw);
      },
      loc);
}

template <class T, class D>
Var<T, D> rms_norm(const Var<T, D>& x, std::type_identity_t<T> eps,
                   std::source_location loc = std::source_location::current()) {
  return rms_norm(x, Var<T, D>(), eps, loc);
}

template <class T, class D>
Var<T, D> layer_norm(const Var<T, D>& x, const Var<T, D>& weight, const Var<T, D>& bias, std::type_identity_t<T> eps,
                     std::source_location loc = std::source_location::current()) {
  using Ops = TensorOps<D>;
  detail::check_norm_param("layer_norm", "weight", weight, x.shape());
  detail::check_norm_param("layer_norm", "bias", bias, x.shape());
  auto n = std::make_shared<typename Ops::template Norm<T>>(Ops::layer_norm(
      x.value(), detail::value_or_undefined(weight), detail::value_or_undefined(bias), T(eps)));
  Tensor<T, D> y = std::move(n->y);
  return make_result<T>(
      "layer_norm", std::move(y), {x, weight, bias},
      [x, weight, bias, n](const Tensor<T, D>& g) {
        auto b = Ops::layer_norm_grad(*n, g, weight.requires_grad(), bias.requires_grad());
        accumulate(x, b.dx);
        if (weight.requires_grad()) accumulate(weight, b.dw);
        if (bias.requires_grad()) accumulate(bias, b.db);
      },
      loc);
}

template <class T, class D>
Var<T, D> layer_norm(const Var<T, D>& x, std::type_identity_t<T> eps,
                     std::source_location loc = std::source_location::current()) {
  return layer_norm(x, Var<T, D>(), Var<T, D>(), eps, loc);
}

}  // namespace sinklab::autograd
