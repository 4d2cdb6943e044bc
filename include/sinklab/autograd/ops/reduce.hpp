#pragma once
// Reductions: sum / mean over everything or one axis, and max over one axis. Backward broadcasts the output
// gradient back over the reduced axis (max: only to the first argmax).
#include <source_location>

#include "sinklab/autograd/var.hpp"

namespace sinklab::autograd {

template <class T, class D>
Var<T, D> sum(const Var<T, D>& a, std::source_location loc = std::source_location::current()) {
  return make_result<T>(
      "sum", TensorOps<D>::reduce_all(a.value(), false), {a},
      [a](const Tensor<T, D>& g) { accumulate(a, TensorOps<D>::reduce_all_grad(g, a.shape(), false)); }, loc);
}

template <class T, class D>
Var<T, D> sum(const Var<T, D>& a, int axis, bool keepdim = false,
              std::source_location loc = std::source_location::current()) {
  axis = normalize_axis(axis, a.shape().size(), "sum");
  return make_result<T>(
      "sum", TensorOps<D>::reduce_axis(a.value(), axis, keepdim, false), {a},
      [a, axis, keepdim](const Tensor<T, D>& g) {
        accumulate(a, TensorOps<D>::reduce_axis_grad(g, a.shape(), axis, keepdim, false));
      },
      loc);
}

template <class T, class D>
Var<T, D> mean(const Var<T, D>& a, std::source_location loc = std::source_location::current()) {
  return make_result<T>(
      "mean", TensorOps<D>::reduce_all(a.value(), true), {a},
      [a](const Tensor<T, D>& g) { accumulate(a, TensorOps<D>::reduce_all_grad(g, a.shape(), true)); }, loc);
}

template <class T, class D>
Var<T, D> mean(const Var<T, D>& a, int axis, bool keepdim = false,
               std::source_location loc = std::source_location::current()) {
  axis = normalize_axis(axis, a.shape().size(), "mean");
  return make_result<T>(
      "mean", TensorOps<D>::reduce_axis(a.value(), axis, keepdim, true), {a},
      [a, axis, keepdim](const Tensor<T, D>& g) {
        accumulate(a, TensorOps<D>::reduce_axis_grad(g, a.shape(), axis, keepdim, true));
      },
      loc);
}

template <class T, class D>
Var<T, D> max(const Var<T, D>& a, int axis, bool keepdim = false,
              std::source_location loc = std::source_location::current()) {
  axis = normalize_axis(axis, a.shape().size(), "max");
  auto r = TensorOps<D>::max_axis(a.value(), axis, keepdim);
  Tensor<T, D> values = std::move(r.values);
  return make_result<T>(
      "max", std::move(values), {a},
      [a, axis, keepdim, r](const Tensor<T, D>& g) {
        accumulate(a, TensorOps<D>::max_axis_grad(g, r, a.shape(), axis, keepdim));
      },
      loc);
}

}  // namespace sinklab::autograd
