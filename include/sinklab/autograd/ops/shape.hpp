#pragma once
// Shape ops. Forward values are views of the input where the Tensor allows (reshape of contiguous data, permute,
// transpose, slice); each backward returns a gradient of exactly the input's shape.
#include <numeric>
#include <source_location>
#include <vector>

#include "sinklab/autograd/var.hpp"

namespace sinklab::autograd {

// reshape;  d = g reshaped back
template <class T, class D>
Var<T, D> reshape(const Var<T, D>& a, Shape shape, std::source_location loc = std::source_location::current()) {
  return make_result<T>(
      "reshape", a.value().reshape(std::move(shape)), {a},
      [a](const Tensor<T, D>& g) { accumulate(a, g.reshape(a.shape())); }, loc);
}

// permute axes;  d = g permuted by the inverse order
template <class T, class D>
Var<T, D> permute(const Var<T, D>& a, const std::vector<int>& order,
               std::source_location loc = std::source_location::current()) {
  Tensor<T, D> y = a.value().permute(order);  // validates the order
  std::vector<int> inv(order.size());
  for (std::size_t i = 0; i < order.size(); ++i)
    inv[normalize_axis(order[i], order.size(), "permute")] = static_cast<int>(i);
  return make_result<T>(
      "permute", std::move(y), {a}, [a, inv](const Tensor<T, D>& g) { accumulate(a, g.permute(inv)); }, loc);
}

// swap two axes;  d = g with the same axes swapped
template <class T, class D>
Var<T, D> transpose(const Var<T, D>& a, int i, int j, std::source_location loc = std::source_location::current()) {
  std::vector<int> order(a.shape().size());
  std::iota(order.begin(), order.end(), 0);
  std::swap(order[normalize_axis(i, order.size(), "transpose")], order[normalize_axis(j, order.size(), "transpose")]);
  return permute(a, order, loc);
}

// elements [start, end) on `axis` (negative indices count from the end; end is clipped);  d = g placed in zeros
template <class T, class D>
Var<T, D> slice(const Var<T, D>& a, int axis, int64_t start, int64_t end,
             std::source_location loc = std::source_location::current()) {
  axis = normalize_axis(axis, a.shape().size(), "slice");
  const int64_t n = a.shape()[axis];
  if (start < 0) start += n;
  if (end < 0) end += n;
  end = std::min(end, n);
  Tensor<T, D> y = a.value().slice(axis, start, end);  // validates the range, naming the shape
  return make_result<T>(
      "slice", std::move(y), {a},
      [a, axis, start, end](const Tensor<T, D>& g) {
        accumulate(a, TensorOps<D>::slice_grad(g, a.shape(), axis, start, end));
      },
      loc);
}

// joins along `axis`; every other dimension must match;  d = the matching slice of g for each input
// D defaults to Cpu so that concat<float>({a, b}, axis) works: a braced list deduces no device.
template <class T, class D = Cpu>
Var<T, D> concat(const std::vector<Var<T, D>>& xs, int axis, std::source_location loc = std::source_location::current()) {
  SINKLAB_CHECK(!xs.empty(), "concat: no inputs");
  const Shape& s0 = xs[0].shape();
  axis = normalize_axis(axis, s0.size(), "concat");
  Shape out_shape = s0;
  out_shape[axis] = 0;
  for (const auto& x : xs) {
    Shape s = x.shape();
    bool ok = s.size() == s0.size();
    for (std::size_t d = 0; ok && d < s.size(); ++d) ok = static_cast<int>(d) == axis || s[d] == s0[d];
    SINKLAB_CHECK(ok, "concat: shapes ", to_string(s0), " and ", to_string(s), " differ off axis ", axis);
    out_shape[axis] += s[axis];
  }
  std::vector<Tensor<T, D>> values;
  std::vector<int64_t> offsets;
  int64_t off = 0;
  for (const auto& x : xs) {
    offsets.push_back(off);
    values.push_back(x.value());
    off += x.shape()[axis];
  }
  Tensor<T, D> y = TensorOps<D>::concat(values, axis, out_shape);
  return make_result<T>(
      "concat", std::move(y), xs,
      [xs, axis, offsets](const Tensor<T, D>& g) {
        for (std::size_t k = 0; k < xs.size(); ++k)
          if (xs[k].requires_grad()) accumulate(xs[k], g.slice(axis, offsets[k], offsets[k] + xs[k].shape()[axis]));
      },
      loc);
}

// pieces of the given sizes along `axis` (they must add up to its length); each piece is a slice
template <class T, class D>
std::vector<Var<T, D>> split(const Var<T, D>& a, const std::vector<int64_t>& sizes, int axis,
                          std::source_location loc = std::source_location::current()) {
  axis = normalize_axis(axis, a.shape().size(), "split");
  int64_t total = 0;
  for (auto s : sizes) {
    SINKLAB_CHECK(s >= 0, "split: negative size ", s);
    total += s;
  }
  SINKLAB_CHECK(total == a.shape()[axis], "split: sizes add up to ", total, " but axis ", axis, " of ",
                to_string(a.shape()), " has ", a.shape()[axis]);
  std::vector<Var<T, D>> out;
  int64_t off = 0;
  for (auto s : sizes) {
    out.push_back(slice(a, axis, off, off + s, loc));
    off += s;
  }
  return out;
}

// a contiguous copy (or the same storage when already contiguous);  d = g
template <class T, class D>
Var<T, D> contiguous(const Var<T, D>& a, std::source_location loc = std::source_location::current()) {
  return make_result<T>(
      "contiguous", a.value().contiguous(), {a}, [a](const Tensor<T, D>& g) { accumulate(a, g); }, loc);
}

}  // namespace sinklab::autograd
