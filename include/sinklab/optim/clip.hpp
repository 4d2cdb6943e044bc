#pragma once
// Global-norm gradient clipping (Pascanu et al. 2013): scales every gradient by min(1, max_norm / ‖g‖₂).
// Returns the norm before clipping (logged as grad_norm). Summation order is fixed, so it is deterministic. A
// non-finite norm is never clipped: the trainer skips or stops on it, naming first_nonfinite_grad.
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

#include "sinklab/core/parallel.hpp"
#include "sinklab/nn/module.hpp"

namespace sinklab::optim {

// Σ x² of one gradient is the in-order sum of the partial sums of its chunks of kNormChunk elements (the last one
// shorter). dist/ shards gradients at chunk boundaries so that its ranks compute the very same partials.
inline constexpr int64_t kNormChunk = int64_t(1) << 16;

namespace detail {
// One chunk's Σ x² in double. Eigen's vectorised sum depends on the pointer's alignment: callers keep it (64 bytes).
template <class T>
double chunk_sum_squares(const T* x, int64_t len) {
  return Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>(x, len).template cast<double>().square().sum();
}

// Σ x² in double over fixed chunks reduced in order: vectorised and threaded, yet the same bits for any thread count.
template <class T>
double sum_squares(const T* x, int64_t n) {
  constexpr int64_t chunk = kNormChunk;
  const int64_t chunks = (n + chunk - 1) / chunk;
  std::vector<double> part(static_cast<std::size_t>(chunks));
#pragma omp parallel for schedule(static) if (n > kParallelGrain)
  for (int64_t c = 0; c < chunks; ++c) part[std::size_t(c)] = chunk_sum_squares(x + c * chunk, std::min(chunk, n - c * chunk));
  double sq = 0;
  for (double p : part) sq += p;
  return sq;
}
}  // namespace detail

// On a GPU each parameter's Σg² is summed on the device (fp32) and the parameters' sums in double here.
template <class T, class D>
double global_grad_norm(const nn::ParamList<T, D>& params) {
  double sq = 0;
  for (const auto& p : params) {
    if (!p.var.has_grad()) continue;
    if constexpr (std::is_same_v<D, Cpu>) {
      const Tensor<T> g = p.var.grad().contiguous();
      sq += detail::sum_squares(g.data(), g.numel());
    } else {
      sq += autograd::TensorOps<D>::sum_squares(p.var.grad());
    }
  }
  return std::sqrt(sq);
}

// Scales the gradients whose global norm is `norm` (global_grad_norm) down to `max_norm` when above it; a
// non-finite norm is left for the caller to refuse (scaling would turn Inf into NaN everywhere).
template <class T, class D>
void clip_grads_to(nn::ParamList<T, D>& params, double norm, double max_norm) {
  if (max_norm > 0 && norm > max_norm && std::isfinite(norm)) {
    const T scale = static_cast<T>(max_norm / (norm + 1e-6));
    for (auto& p : params) {
      if (!p.var.has_grad()) continue;
      if constexpr (std::is_same_v<D, Cpu>) p.var.mutable_grad().array() *= scale;
      else p.var.mutable_grad() = autograd::TensorOps<D>::mul_scalar(p.var.grad(), scale);
    }
  }
}

template <class T, class D>
double clip_grad_norm(nn::ParamList<T, D>& params, double max_norm) {
  const double norm = global_grad_norm(params);
  clip_grads_to(params, norm, max_norm);
  return norm;
}

// The name of the first parameter (in model order) whose gradient holds a NaN or Inf; empty when none does. A
// non-finite global norm with finite gradients is possible only by overflow of the sum of squares.
template <class T, class D>
std::string first_nonfinite_grad(const nn::ParamList<T, D>& params) {
  for (const auto& p : params) {
    if (!p.var.has_grad()) continue;
    if constexpr (std::is_same_v<D, Cpu>) {
      const Tensor<T> g = p.var.grad().contiguous();
      if (!Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>(g.data(), g.numel()).allFinite()) return p.name;
    } else if (!autograd::TensorOps<D>::all_finite(p.var.grad())) {
      return p.name;
    }
  }
  return {};
}

// Scales every gradient (used to average accumulated micro-batch gradients).
template <class T>
void scale_grads(nn::ParamList<T>& params, T s) {
  for (auto& p : params)
    if (p.var.has_grad()) p.var.mutable_grad().array() *= s;
}

}  // namespace sinklab::optim
