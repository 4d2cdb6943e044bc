#pragma once
// Fused, numerically stable cross-entropy on logits (N, V) with int32 targets (N); rows whose target equals
// ignore_index contribute nothing. See backend/cpu/cross_entropy.hpp for the memory note (only dx is (N, V)).
#include <memory>
#include <source_location>

#include "sinklab/autograd/var.hpp"
#include "sinklab/backend/cpu/cross_entropy.hpp"

namespace sinklab::autograd {

// L = (1/count) Σ_i lse(x_i) − x_i[t_i] (0 when count = 0);  dx_i = g/count · (softmax(x_i) − onehot(t_i))
template <class T>
Var<T> cross_entropy(const Var<T>& logits, const Tensor<int32_t>& targets, int32_t ignore_index = -100,
                     std::source_location loc = std::source_location::current()) {
  namespace cpu = backend::cpu;
  cpu::check_cross_entropy_args(logits.shape(), targets, ignore_index);
  const Tensor<T> xc = logits.value().contiguous();
  const Tensor<int32_t> tc = targets.contiguous();
  auto rows = std::make_shared<cpu::CrossEntropyRows<T>>(cpu::cross_entropy_forward(xc, tc, ignore_index));
  T total = 0;  // sequential over rows: deterministic
  for (int64_t i = 0; i < rows->loss.numel(); ++i) total += rows->loss.data()[i];
  const int64_t count = rows->count;
  const T loss = count ? total / static_cast<T>(count) : T(0);
  rows->loss = Tensor<T>();  // only lse is needed backward
  return make_result<T>(
      "cross_entropy", Tensor<T>::scalar(loss), {logits},
      [logits, xc, tc, rows, ignore_index, count](const Tensor<T>& g) {
        if (count == 0) return accumulate(logits, Tensor<T>(logits.shape()));
        const T scale = g.item() / static_cast<T>(count);
        accumulate(logits,
                   cpu::cross_entropy_backward(xc, tc, rows->lse, ignore_index, [scale](int64_t) { return scale; }));
      },
      loc);
}

// Per-row losses (N) (0 for ignored rows), for probes;  dx_i = g_i (softmax(x_i) − onehot(t_i))
template <class T>
Var<T> cross_entropy_per_token(const Var<T>& logits, const Tensor<int32_t>& targets, int32_t ignore_index = -100,
                               std::source_location loc = std::source_location::current()) {
  namespace cpu = backend::cpu;
  cpu::check_cross_entropy_args(logits.shape(), targets, ignore_index);
  const Tensor<T> xc = logits.value().contiguous();
  const Tensor<int32_t> tc = targets.contiguous();
  auto f = cpu::cross_entropy_forward(xc, tc, ignore_index);
  auto lse = std::make_shared<const std::vector<T>>(std::move(f.lse));
  return make_result<T>(
      "cross_entropy_per_token", std::move(f.loss), {logits},
      [logits, xc, tc, lse, ignore_index](const Tensor<T>& g_in) {
        const Tensor<T> g = g_in.contiguous();
        const T* gp = g.data();
        accumulate(logits, cpu::cross_entropy_backward(xc, tc, *lse, ignore_index, [gp](int64_t i) { return gp[i]; }));
      },
      loc);
}

}  // namespace sinklab::autograd
