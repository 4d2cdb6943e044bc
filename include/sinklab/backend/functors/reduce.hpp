#pragma once
// Reduction math shared by the CPU tests and the CUDA reduction kernels (src/cuda/reduce.cu): max with NaN
// propagation, max-with-index selection, and the (outer, k, inner) coordinates of an element relative to one axis.
// Plain C++; SINKLAB_HOST_DEVICE makes it device-callable.
#include <cmath>
#include <cstdint>

#include "sinklab/core/config.hpp"

namespace sinklab::backend::functors {

// max(a, b) where NaN wins, as backend::cpu::max_axis (fmaxf would drop it). Associative, so any tree gives the
// CPU's sequential answer.
struct MaxNan {
  SINKLAB_HOST_DEVICE float operator()(float a, float b) const {
    if (a != a) return a;
    return (b > a || b != b) ? b : a;
  }
};

// A candidate of a max-with-index reduction along an axis.
struct ValIdx {
  float v;
  int64_t i;
};
// Keeps the element the CPU backend's max_with_index chooses: the first NaN if there is one, else the first
// maximum. That is a total order on (value, index), so the pick is associative and commutative: a block reduce in
// any order agrees with the CPU's left-to-right scan. Identity: {−∞, INT64_MAX} (loses to every real element).
struct ArgMaxPick {
  SINKLAB_HOST_DEVICE ValIdx operator()(const ValIdx& a, const ValIdx& b) const {
    const bool a_first = a.i <= b.i;
    const ValIdx& lo = a_first ? a : b;
    const ValIdx& hi = a_first ? b : a;
    const bool lo_nan = lo.v != lo.v, hi_nan = hi.v != hi.v;
    return (!lo_nan && (hi_nan || hi.v > lo.v)) ? hi : lo;
  }
  static SINKLAB_HOST_DEVICE ValIdx identity() { return {-INFINITY, INT64_MAX}; }
};

// Element e of a contiguous tensor viewed as (outer, n, inner) around one axis: e = (outer·n + k)·inner + inner_i.
struct AxisCoord {
  int64_t outer, k, inner;
  // Index of this element's slot in the reduced (outer, inner) tensor.
  SINKLAB_HOST_DEVICE int64_t reduced(int64_t inner_size) const { return outer * inner_size + inner; }
};
SINKLAB_HOST_DEVICE inline AxisCoord axis_coord(int64_t e, int64_t n, int64_t inner_size) {
  const int64_t t = e / inner_size;
  return {t / n, t % n, e % inner_size};
}

// Backward of max along an axis: dx[e] = dy[r] at the chosen index (k == at[r]), 0 elsewhere; r = reduced slot.
SINKLAB_HOST_DEVICE inline float max_axis_grad(const AxisCoord& c, int64_t at_r, float dy_r) {
  return c.k == at_r ? dy_r : 0.0f;
}

}  // namespace sinklab::backend::functors
