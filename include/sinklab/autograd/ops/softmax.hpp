#pragma once
// Softmax and log-softmax along one axis (stable: max-shifted). Backward uses the saved output only.
#include <source_location>

#include "sinklab/autograd/var.hpp"

namespace sinklab::autograd {

template <class T, class D>
Var<T, D> softmax(const Var<T, D>& a, int axis = -1, std::source_location loc = std::source_location::current()) {
  axis = normalize_axis(axis, a.shape().size(), "softmax");
  Tensor<T, D> y = TensorOps<D>::softmax(a.value(), axis, false);
  return make_result<T>(
      "softmax", y, {a},
      [a, y, axis](const Tensor<T, D>& g) { accumulate(a, TensorOps<D>::softmax_grad(y, g, axis, false)); }, loc);
}

template <class T, class D>
Var<T, D> log_softmax(const Var<T, D>& a, int axis = -1, std::source_location loc = std::source_location::current()) {
  axis = normalize_axis(axis, a.shape().size(), "log_softmax");
  Tensor<T, D> y = TensorOps<D>::softmax(a.value(), axis, true);
  return make_result<T>(
      "log_softmax", y, {a},
      [a, y, axis](const Tensor<T, D>& g) { accumulate(a, TensorOps<D>::softmax_grad(y, g, axis, true)); }, loc);
}

}  // namespace sinklab::autograd
