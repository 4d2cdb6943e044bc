#pragma once
// Softmax and log-softmax along one axis (stable: max-shifted). Backward uses the saved output only.
#include <source_location>

#include "sinklab/autograd/var.hpp"
#include "sinklab/backend/cpu/softmax.hpp"

namespace sinklab::autograd {

// y = eˣ / Σ eˣ;  dx = y ⊙ (g − Σ y g)
template <class T>
Var<T> softmax(const Var<T>& a, int axis = -1, std::source_location loc = std::source_location::current()) {
  axis = normalize_axis(axis, a.shape().size(), "softmax");
  Tensor<T> y = backend::cpu::softmax_forward(a.value(), axis, false);
  return make_result<T>(
      "softmax", y, {a},
      [a, y, axis](const Tensor<T>& g) { accumulate(a, backend::cpu::softmax_backward(y, g, axis, false)); }, loc);
}

// y = x − lse(x);  dx = g − eʸ Σ g
template <class T>
Var<T> log_softmax(const Var<T>& a, int axis = -1, std::source_location loc = std::source_location::current()) {
  axis = normalize_axis(axis, a.shape().size(), "log_softmax");
  Tensor<T> y = backend::cpu::softmax_forward(a.value(), axis, true);
  return make_result<T>(
      "log_softmax", y, {a},
      [a, y, axis](const Tensor<T>& g) { accumulate(a, backend::cpu::softmax_backward(y, g, axis, true)); }, loc);
}

}  // namespace sinklab::autograd
