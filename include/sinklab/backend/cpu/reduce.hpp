#pragma once
// Reductions over one axis of a CPU tensor, viewed as (outer, n, inner). Each output is reduced by one thread
// in index order, so results are identical for any thread count.
#include <limits>

#include "sinklab/core/parallel.hpp"
#include "sinklab/tensor/tensor.hpp"

namespace sinklab::backend::cpu {

struct AxisView {
  int64_t outer = 1, n = 1, inner = 1;
};

inline AxisView axis_view(const Shape& s, int axis) {
  AxisView v;
  for (int i = 0; i < axis; ++i) v.outer *= s[i];
  v.n = s[axis];
  for (std::size_t i = axis + 1; i < s.size(); ++i) v.inner *= s[i];
  return v;
}

inline Shape reduced_shape(const Shape& s, int axis, bool keepdim) {
  Shape out = s;
  if (keepdim)
    out[axis] = 1;
  else
    out.erase(out.begin() + axis);
  return out;
}

// init, then acc = op(acc, x) over the axis; fin(acc, n) gives the output.
template <class T, class Op, class Fin>
Tensor<T> reduce_axis(const Tensor<T>& a, int axis, bool keepdim, T init, Op op, Fin fin) {
  axis = normalize_axis(axis, a.shape().size(), "reduce");
  const Tensor<T> c = a.contiguous();
  const AxisView v = axis_view(a.shape(), axis);
  Tensor<T> out(reduced_shape(a.shape(), axis, keepdim));
  const T* x = c.data();
  T* y = out.data();
#pragma omp parallel for collapse(2) if (a.numel() > kParallelGrain)
  for (int64_t o = 0; o < v.outer; ++o)
    for (int64_t i = 0; i < v.inner; ++i) {
      T acc = init;
      const T* base = x + o * v.n * v.inner + i;
      for (int64_t k = 0; k < v.n; ++k) acc = op(acc, base[k * v.inner]);
      y[o * v.inner + i] = fin(acc, v.n);
    }
  return out;
}

template <class T>
Tensor<T> sum_axis(const Tensor<T>& a, int axis, bool keepdim) {
  return reduce_axis(a, axis, keepdim, T(0), [](T s, T x) { return s + x; }, [](T s, int64_t) { return s; });
}

template <class T>
Tensor<T> max_axis(const Tensor<T>& a, int axis, bool keepdim) {
  return reduce_axis(
      a, axis, keepdim, -std::numeric_limits<T>::infinity(), [](T m, T x) { return x > m || x != x ? x : m; },
      [](T m, int64_t) { return m; });
}

template <class T>
T sum_all(const Tensor<T>& a) {
  const Tensor<T> c = a.contiguous();
  T s = 0;
  for (int64_t i = 0, n = c.numel(); i < n; ++i) s += c.data()[i];
  return s;
}

}  // namespace sinklab::backend::cpu
