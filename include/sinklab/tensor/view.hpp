#pragma once
// The geometry of strided views — shape, strides (in elements) and offset — shared by Tensor<T, Cpu> and
// Tensor<T, Cuda>: a view changes only these, whatever the storage, so both tensors call these functions.
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <utility>
#include <vector>

#include "sinklab/core/error.hpp"
#include "sinklab/core/shape.hpp"

namespace sinklab::view {

// Row-major with no gaps (axes of length 1 may have any stride).
inline bool is_contiguous(const Shape& shape, const Shape& strides) {
  int64_t expect = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    if (shape[i] != 1 && strides[i] != expect) return false;
    expect *= shape[i];
  }
  return true;
}

// Axes reordered: axis i of the result is axis order[i] of (shape, strides).
inline void permute(const Shape& shape, const Shape& strides, const std::vector<int>& order, Shape& out_shape,
                    Shape& out_strides) {
  SINKLAB_CHECK(order.size() == shape.size(), "permute: order of length ", order.size(), " for shape ",
                to_string(shape));
  std::vector<bool> seen(order.size(), false);
  for (std::size_t i = 0; i < order.size(); ++i) {
    const int a = normalize_axis(order[i], shape.size(), "permute");
    SINKLAB_CHECK(!seen[a], "permute: axis ", a, " repeated");
    seen[a] = true;
    out_shape[i] = shape[a];
    out_strides[i] = strides[a];
  }
}

// The order that swaps axes a and b of a rank-`rank` tensor.
inline std::vector<int> transpose_order(std::size_t rank, int a, int b) {
  std::vector<int> order(rank);
  std::iota(order.begin(), order.end(), 0);
  std::swap(order[normalize_axis(a, rank, "transpose")], order[normalize_axis(b, rank, "transpose")]);
  return order;
}

// In place: elements [start, end) along `axis` with a positive step (negative start/end count from the end).
inline void slice(Shape& shape, Shape& strides, int64_t& offset, int axis, int64_t start, int64_t end, int64_t step) {
  axis = normalize_axis(axis, shape.size(), "slice");
  const int64_t n = shape[axis];
  if (start < 0) start += n;
  if (end < 0) end += n;
  end = std::min(end, n);
  SINKLAB_CHECK(step > 0 && start >= 0 && start <= end, "slice: bad range [", start, ", ", end, ") step ", step,
                " on axis ", axis, " of shape ", to_string(shape));
  offset += start * strides[axis];
  shape[axis] = (end - start + step - 1) / step;
  strides[axis] *= step;
}

// `to` with its one -1 (if any) resolved for the element count of `from`; checks that the counts agree.
inline Shape resolve_reshape(const Shape& from, Shape to) {
  int64_t known = 1, infer = -1;
  for (std::size_t i = 0; i < to.size(); ++i) {
    if (to[i] == -1) {
      SINKLAB_CHECK(infer < 0, "reshape: more than one -1 in ", to_string(to));
      infer = static_cast<int64_t>(i);
    } else {
      known *= to[i];
    }
  }
  const int64_t count = numel(from);
  if (infer >= 0) to[infer] = known == 0 ? 0 : count / known;
  SINKLAB_CHECK(numel(to) == count, "reshape: cannot view shape ", to_string(from), " as ", to_string(to));
  return to;
}

}  // namespace sinklab::view
