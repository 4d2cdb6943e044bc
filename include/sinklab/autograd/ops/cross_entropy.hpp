#pragma once
// Fused, numerically stable cross-entropy on logits (N, V) with int32 targets (N); rows whose target equals
// ignore_index contribute nothing. See backend/cpu/cross_entropy.hpp for the memory note (only dx is (N, V)).
#include <memory>
#include <source_location>

#include "sinklab/autograd/var.hpp"
#include "sinklab/backend/cpu/cross_entropy.hpp"

namespace sinklab::autograd {

// Mean over the rows whose target is not ignore_index. Targets live on the host on every device (they come from the
// data pipeline); they are checked there against the logits' shape and vocabulary.
template <class T, class D>
Var<T, D> cross_entropy(const Var<T, D>& logits, const Tensor<int32_t>& targets, int32_t ignore_index = -100,
                        std::source_location loc = std::source_location::current()) {
  auto ce = std::make_shared<const typename TensorOps<D>::template CrossEntropy<T>>(
      TensorOps<D>::template cross_entropy<T>(logits.value(), targets, ignore_index));
  return make_result<T>(
      "cross_entropy", ce->loss, {logits},
      [logits, ce](const Tensor<T, D>& g) { accumulate(logits, TensorOps<D>::cross_entropy_grad(*ce, g)); }, loc);
}

// CPU only so far: the CUDA backend has no per-row loss output yet.
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
