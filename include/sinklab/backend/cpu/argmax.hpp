#pragma once
// Max along one axis together with the index of the first maximum (NaN counts as the maximum, as in max_axis).
// One thread per output element, so the result does not depend on the thread count.
#include <limits>

#include "sinklab/backend/cpu/reduce.hpp"

namespace sinklab::backend::cpu {

template <class T>
struct MaxWithIndex {
  Tensor<T> values;         // reduced shape
  std::vector<int64_t> at;  // index along the axis, one per output element (row-major)
};

template <class T>
MaxWithIndex<T> max_with_index(const Tensor<T>& a, int axis, bool keepdim) {
  axis = normalize_axis(axis, a.shape().size(), "max");
  const AxisView v = axis_view(a.shape(), axis);
  SINKLAB_CHECK(v.n > 0 || v.outer * v.inner == 0, "max: reduction over an empty axis ", axis, " of shape ",
                to_string(a.shape()));
  const Tensor<T> c = a.contiguous();
  MaxWithIndex<T> r{Tensor<T>(reduced_shape(a.shape(), axis, keepdim)), std::vector<int64_t>(v.outer * v.inner, 0)};
  if (v.n == 0) return r;
  const T* x = c.data();
  T* y = r.values.data();
#pragma omp parallel for collapse(2) if (a.numel() > kParallelGrain)
  for (int64_t o = 0; o < v.outer; ++o)
    for (int64_t i = 0; i < v.inner; ++i) {
      const T* base = x + o * v.n * v.inner + i;
      int64_t best = 0;
      for (int64_t k = 1; k < v.n; ++k) {
        const T cur = base[best * v.inner];
        if (cur != cur) break;  // NaN already chosen
        const T xk = base[k * v.inner];
        if (xk > cur || xk != xk) best = k;
      }
      y[o * v.inner + i] = base[best * v.inner];
      r.at[o * v.inner + i] = best;
    }
  return r;
}

}  // namespace sinklab::backend::cpu
