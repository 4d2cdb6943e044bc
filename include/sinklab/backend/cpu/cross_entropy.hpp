#pragma once
// Fused cross-entropy over rows of logits (N, V): loss_i = lse(x_i) − x_i[t_i] with lse taken after subtracting the
// row max. The backward recomputes softmax from the saved per-row lse, so the only (N, V) tensor it allocates is dx.
// One thread per row: identical results for any thread count.
#include <cmath>
#include <limits>
#include <vector>

#include "sinklab/core/parallel.hpp"
#include "sinklab/tensor/tensor.hpp"

namespace sinklab::backend::cpu {

template <class T>
struct CrossEntropyRows {
  Tensor<T> loss;      // (N) 0 for ignored rows
  std::vector<T> lse;  // (N)
  int64_t count = 0;   // rows whose target is not ignore_index
};

inline void check_cross_entropy_args(const Shape& logits, const Tensor<int32_t>& targets, int32_t ignore_index) {
  SINKLAB_CHECK(logits.size() == 2 && targets.dim() == 1 && targets.size(0) == logits[0],
                "cross_entropy: logits (N, V) and targets (N,), got ", to_string(logits), " and ",
                to_string(targets.shape()));
  const Tensor<int32_t> t = targets.contiguous();
  for (int64_t i = 0; i < t.numel(); ++i) {
    const int32_t id = t.data()[i];
    SINKLAB_CHECK(id == ignore_index || (id >= 0 && id < logits[1]), "cross_entropy: target ", id, " at row ", i,
                  " out of range for V = ", logits[1], " (ignore_index ", ignore_index, ")");
  }
}

template <class T>
CrossEntropyRows<T> cross_entropy_forward(const Tensor<T>& xc, const Tensor<int32_t>& tc, int32_t ignore_index) {
  const int64_t n = xc.size(0), v = xc.size(1);
  CrossEntropyRows<T> out{Tensor<T>({n}), std::vector<T>(n, T(0)), 0};
  const T* x = xc.data();
  const int32_t* t = tc.data();
  T* loss = out.loss.data();
#pragma omp parallel for if (n * v > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) {
    if (t[i] == ignore_index) continue;
    const T* xr = x + i * v;
    T m = -std::numeric_limits<T>::infinity();
    for (int64_t j = 0; j < v; ++j) m = std::max(m, xr[j]);
    T s = 0;
    for (int64_t j = 0; j < v; ++j) s += std::exp(xr[j] - m);
    out.lse[i] = m + std::log(s);
    loss[i] = out.lse[i] - xr[t[i]];
  }
  for (int64_t i = 0; i < n; ++i) out.count += t[i] != ignore_index;
  return out;
}

// dx_ij = scale(i) · (exp(x_ij − lse_i) − [j = t_i]); ignored rows get 0.
template <class T, class Scale>
Tensor<T> cross_entropy_backward(const Tensor<T>& xc, const Tensor<int32_t>& tc, const std::vector<T>& lse,
                                 int32_t ignore_index, Scale scale) {
  const int64_t n = xc.size(0), v = xc.size(1);
  Tensor<T> dx(xc.shape());
  const T* x = xc.data();
  const int32_t* t = tc.data();
  T* d = dx.data();
#pragma omp parallel for if (n * v > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) {
    if (t[i] == ignore_index) continue;
    const T *xr = x + i * v, l = lse[i], sc = scale(i);
    T* dr = d + i * v;
    for (int64_t j = 0; j < v; ++j) dr[j] = sc * std::exp(xr[j] - l);
    dr[t[i]] -= sc;
  }
  return dx;
}

}  // namespace sinklab::backend::cpu
