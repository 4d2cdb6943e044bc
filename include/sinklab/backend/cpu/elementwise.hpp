#pragma once
// Elementwise kernels on CPU tensors: unary maps, broadcasting binary maps, and sum_to (the adjoint of
// broadcasting, used by every broadcasting op's backward). Each output element is written by one thread,
// so results do not depend on the thread count.
#include <vector>

#include "sinklab/core/parallel.hpp"
#include "sinklab/tensor/tensor.hpp"

namespace sinklab::backend::cpu {

template <class T, class F>
Tensor<T> map(const Tensor<T>& a, F f) {
  const Tensor<T> c = a.contiguous();
  Tensor<T> out(a.shape());
  const T* x = c.data();
  T* y = out.data();
  const int64_t n = out.numel();
#pragma omp parallel for if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
  return out;
}

// Strides of `t` viewed with shape `out` under broadcasting (0 on broadcast axes).
template <class T>
Shape broadcast_strides(const Tensor<T>& t, const Shape& out) {
  Shape st(out.size(), 0);
  const std::size_t lead = out.size() - t.shape().size();
  for (std::size_t i = 0; i < t.shape().size(); ++i)
    st[lead + i] = t.shape()[i] == 1 ? 0 : t.strides()[i];
  return st;
}

template <class T, class F>
Tensor<T> zip(const Tensor<T>& a, const Tensor<T>& b, F f) {
  if (a.shape() == b.shape() && a.is_contiguous() && b.is_contiguous()) {
    Tensor<T> out(a.shape());
    const T *x = a.data(), *y = b.data();
    T* z = out.data();
    const int64_t n = out.numel();
#pragma omp parallel for if (n > kParallelGrain)
    for (int64_t i = 0; i < n; ++i) z[i] = f(x[i], y[i]);
    return out;
  }
  const Shape shape = broadcast_shapes(a.shape(), b.shape());
  Tensor<T> out(shape);
  if (out.numel() == 0) return out;
  const Shape sa = broadcast_strides(a, shape), sb = broadcast_strides(b, shape);
  const int64_t r = static_cast<int64_t>(shape.size());
  const int64_t inner = r ? shape.back() : 1;
  const int64_t rows = out.numel() / inner;
  const T *pa = a.data(), *pb = b.data();
  T* z = out.data();
  const int64_t ia = r ? sa.back() : 0, ib = r ? sb.back() : 0;
#pragma omp parallel for if (out.numel() > kParallelGrain)
  for (int64_t row = 0; row < rows; ++row) {
    int64_t oa = 0, ob = 0, rem = row;
    for (int64_t d = r - 2; d >= 0; --d) {
      const int64_t i = rem % shape[d];
      rem /= shape[d];
      oa += i * sa[d];
      ob += i * sb[d];
    }
    T* zr = z + row * inner;
    for (int64_t j = 0; j < inner; ++j) zr[j] = f(pa[oa + j * ia], pb[ob + j * ib]);
  }
  return out;
}

// Sums `g` over the axes that broadcasting expanded, giving a tensor of shape `target`.
template <class T>
Tensor<T> sum_to(const Tensor<T>& g, const Shape& target) {
  if (g.shape() == target) return g;
  const Shape& gs = g.shape();
  SINKLAB_CHECK(broadcast_shapes(target, gs) == gs, "sum_to: cannot reduce ", to_string(gs), " to ", to_string(target));
  Tensor<T> out(target);
  if (g.numel() == 0) return out;
  // View `out` with g's rank; broadcast axes get stride 0 so the accumulation lands on one element.
  const std::size_t lead = gs.size() - target.size();
  Shape ost(gs.size(), 0);
  const Shape tstr = contiguous_strides(target);
  for (std::size_t i = 0; i < target.size(); ++i) ost[lead + i] = target[i] == 1 ? 0 : tstr[i];
  const Tensor<T> gc = g.contiguous();
  const T* gp = gc.data();
  T* op = out.data();
  // Sequential accumulation in row-major order: deterministic for any thread count.
  std::vector<int64_t> idx(gs.size(), 0);
  int64_t off = 0;
  for (int64_t linear = 0, n = g.numel(); linear < n; ++linear) {
    op[off] += gp[linear];
    for (std::size_t d = gs.size(); d-- > 0;) {
      if (++idx[d] < gs[d]) {
        off += ost[d];
        break;
      }
      off -= ost[d] * (gs[d] - 1);
      idx[d] = 0;
    }
  }
  return out;
}

}  // namespace sinklab::backend::cpu
