#pragma once
// broadcast_to: materialises `t` expanded to `shape` under NumPy broadcasting (the adjoint of sum_to; used by the
// backward of reductions). Each output row is written by one thread.
#include "sinklab/backend/cpu/elementwise.hpp"

namespace sinklab::backend::cpu {

template <class T>
Tensor<T> broadcast_to(const Tensor<T>& t, const Shape& shape) {
  SINKLAB_CHECK(broadcast_shapes(t.shape(), shape) == shape, "broadcast_to: cannot expand ", to_string(t.shape()),
                " to ", to_string(shape));
  if (t.shape() == shape) return t;
  Tensor<T> out(shape);
  if (out.numel() == 0) return out;
  const Shape st = broadcast_strides(t, shape);
  const int64_t r = static_cast<int64_t>(shape.size());
  const int64_t inner = shape.back(), rows = out.numel() / inner, is = st.back();
  const T* src = t.data();
  T* dst = out.data();
#pragma omp parallel for if (out.numel() > kParallelGrain)
  for (int64_t row = 0; row < rows; ++row) {
    int64_t off = 0, rem = row;
    for (int64_t d = r - 2; d >= 0; --d) {
      off += (rem % shape[d]) * st[d];
      rem /= shape[d];
    }
    T* o = dst + row * inner;
    for (int64_t j = 0; j < inner; ++j) o[j] = src[off + j * is];
  }
  return out;
}

}  // namespace sinklab::backend::cpu
