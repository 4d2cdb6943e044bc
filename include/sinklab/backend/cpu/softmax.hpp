#pragma once
// Softmax and log-softmax along one axis, the tensor viewed as (outer, n, inner). One thread owns a whole line, so
// results are identical for any thread count. Stable: every exp is taken of x − max(line) ≤ 0.
#include <cmath>
#include <limits>

#include "sinklab/backend/cpu/reduce.hpp"

namespace sinklab::backend::cpu {

// y = softmax(x) or, with `log`, y = x − lse(x).
template <class T>
Tensor<T> softmax_forward(const Tensor<T>& x_in, int axis, bool log) {
  axis = normalize_axis(axis, x_in.shape().size(), log ? "log_softmax" : "softmax");
  const Tensor<T> xc = x_in.contiguous();
  const AxisView v = axis_view(xc.shape(), axis);
  Tensor<T> out(xc.shape());
  const T* x = xc.data();
  T* y = out.data();
  const int64_t s = v.inner;
#pragma omp parallel for collapse(2) if (xc.numel() > kParallelGrain)
  for (int64_t o = 0; o < v.outer; ++o)
    for (int64_t i = 0; i < v.inner; ++i) {
      const T* xr = x + o * v.n * s + i;
      T* yr = y + o * v.n * s + i;
      T m = -std::numeric_limits<T>::infinity();
      for (int64_t k = 0; k < v.n; ++k) m = std::max(m, xr[k * s]);
      T sum = 0;
      for (int64_t k = 0; k < v.n; ++k) {
        const T e = std::exp(xr[k * s] - m);
        if (!log) yr[k * s] = e;
        sum += e;
      }
      if (log) {
        const T lse = m + std::log(sum);
        for (int64_t k = 0; k < v.n; ++k) yr[k * s] = xr[k * s] - lse;
      } else {
        const T inv = T(1) / sum;
        for (int64_t k = 0; k < v.n; ++k) yr[k * s] *= inv;
      }
    }
  return out;
}

// softmax:     dx = y ⊙ (dy − Σ y dy)
// log_softmax: dx = dy − exp(y) Σ dy
template <class T>
Tensor<T> softmax_backward(const Tensor<T>& y_in, const Tensor<T>& dy_in, int axis, bool log) {
  axis = normalize_axis(axis, y_in.shape().size(), "softmax_backward");
  const Tensor<T> yc = y_in.contiguous(), gc = dy_in.contiguous();
  const AxisView v = axis_view(yc.shape(), axis);
  Tensor<T> out(yc.shape());
  const T *y = yc.data(), *g = gc.data();
  T* dx = out.data();
  const int64_t s = v.inner;
#pragma omp parallel for collapse(2) if (yc.numel() > kParallelGrain)
  for (int64_t o = 0; o < v.outer; ++o)
    for (int64_t i = 0; i < v.inner; ++i) {
      const int64_t base = o * v.n * s + i;
      T acc = 0;
      for (int64_t k = 0; k < v.n; ++k) acc += log ? g[base + k * s] : y[base + k * s] * g[base + k * s];
      for (int64_t k = 0; k < v.n; ++k) {
        const int64_t e = base + k * s;
        dx[e] = log ? g[e] - std::exp(y[e]) * acc : y[e] * (g[e] - acc);
      }
    }
  return out;
}

}  // namespace sinklab::backend::cpu
