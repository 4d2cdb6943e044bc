#pragma once
// Reductions: sum / mean over everything or one axis, and max over one axis. Backward broadcasts the output
// gradient back over the reduced axis (max: only to the first argmax).
#include <source_location>

#include "sinklab/autograd/var.hpp"
#include "sinklab/backend/cpu/argmax.hpp"
#include "sinklab/backend/cpu/broadcast.hpp"
#include "sinklab/backend/cpu/reduce.hpp"

namespace sinklab::autograd {

namespace detail {
// g of the reduced shape → g expanded over `axis` to `shape` (times `scale`).
template <class T>
Tensor<T> expand_reduced(const Tensor<T>& g, const Shape& shape, int axis, T scale) {
  Shape keep = shape;
  keep[axis] = 1;
  Tensor<T> gk = g.reshape(keep);
  if (scale != T(1)) gk = backend::cpu::map(gk, [scale](T x) { return x * scale; });
  return backend::cpu::broadcast_to(gk, shape);
}
}  // namespace detail

// Σ a (shape {});  d = 1
template <class T>
Var<T> sum(const Var<T>& a, std::source_location loc = std::source_location::current()) {
  return make_result<T>(
      "sum", Tensor<T>::scalar(backend::cpu::sum_all(a.value())), {a},
      [a](const Tensor<T>& g) { accumulate(a, Tensor<T>::full(a.shape(), g.item())); }, loc);
}

// Σ over `axis`;  d = 1 broadcast over the axis
template <class T>
Var<T> sum(const Var<T>& a, int axis, bool keepdim = false,
           std::source_location loc = std::source_location::current()) {
  axis = normalize_axis(axis, a.shape().size(), "sum");
  return make_result<T>(
      "sum", backend::cpu::sum_axis(a.value(), axis, keepdim), {a},
      [a, axis](const Tensor<T>& g) { accumulate(a, detail::expand_reduced(g, a.shape(), axis, T(1))); }, loc);
}

// Σ a / numel (NaN for an empty tensor, as 0/0);  d = 1/numel
template <class T>
Var<T> mean(const Var<T>& a, std::source_location loc = std::source_location::current()) {
  const T n = static_cast<T>(a.numel());
  return make_result<T>(
      "mean", Tensor<T>::scalar(backend::cpu::sum_all(a.value()) / n), {a},
      [a, n](const Tensor<T>& g) { accumulate(a, Tensor<T>::full(a.shape(), g.item() / n)); }, loc);
}

// Σ over `axis` / n;  d = 1/n broadcast over the axis
template <class T>
Var<T> mean(const Var<T>& a, int axis, bool keepdim = false,
            std::source_location loc = std::source_location::current()) {
  axis = normalize_axis(axis, a.shape().size(), "mean");
  const T n = static_cast<T>(a.shape()[axis]);
  Tensor<T> y = backend::cpu::sum_axis(a.value(), axis, keepdim);
  y = backend::cpu::map(y, [n](T x) { return x / n; });
  return make_result<T>(
      "mean", std::move(y), {a},
      [a, axis, n](const Tensor<T>& g) { accumulate(a, detail::expand_reduced(g, a.shape(), axis, T(1) / n)); }, loc);
}

// max over `axis`;  d = 1 at the first argmax, 0 elsewhere
template <class T>
Var<T> max(const Var<T>& a, int axis, bool keepdim = false,
           std::source_location loc = std::source_location::current()) {
  axis = normalize_axis(axis, a.shape().size(), "max");
  auto r = backend::cpu::max_with_index(a.value(), axis, keepdim);
  auto at = std::make_shared<const std::vector<int64_t>>(std::move(r.at));
  return make_result<T>(
      "max", std::move(r.values), {a},
      [a, axis, at](const Tensor<T>& g_in) {
        const Tensor<T> g = g_in.contiguous();
        const auto v = backend::cpu::axis_view(a.shape(), axis);
        Tensor<T> dx(a.shape());
        for (int64_t o = 0; o < v.outer; ++o)
          for (int64_t i = 0; i < v.inner; ++i) {
            const int64_t e = o * v.inner + i;
            dx.data()[(o * v.n + (*at)[e]) * v.inner + i] = g.data()[e];
          }
        accumulate(a, dx);
      },
      loc);
}

}  // namespace sinklab::autograd
