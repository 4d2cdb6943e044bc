#pragma once
// Global-norm gradient clipping (Pascanu et al. 2013): scales every gradient by min(1, max_norm / ‖g‖₂).
// Returns the norm before clipping (logged as grad_norm). Summation order is fixed, so it is deterministic.
#include <cmath>

#include "sinklab/nn/module.hpp"

namespace sinklab::optim {

template <class T>
double global_grad_norm(const nn::ParamList<T>& params) {
  double sq = 0;
  for (const auto& p : params) {
    if (!p.var.has_grad()) continue;
    const Tensor<T> g = p.var.grad().contiguous();
    for (int64_t i = 0; i < g.numel(); ++i) sq += double(g.data()[i]) * double(g.data()[i]);
  }
  return std::sqrt(sq);
}

template <class T>
double clip_grad_norm(nn::ParamList<T>& params, double max_norm) {
  const double norm = global_grad_norm(params);
  if (max_norm > 0 && norm > max_norm && std::isfinite(norm)) {
    const T scale = static_cast<T>(max_norm / (norm + 1e-6));
    for (auto& p : params)
      if (p.var.has_grad()) p.var.mutable_grad().array() *= scale;
  }
  return norm;
}

// Scales every gradient (used to average accumulated micro-batch gradients).
template <class T>
void scale_grads(nn::ParamList<T>& params, T s) {
  for (auto& p : params)
    if (p.var.has_grad()) p.var.mutable_grad().array() *= s;
}

}  // namespace sinklab::optim
