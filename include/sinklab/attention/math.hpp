#pragma once
// The scalar math every attention policy shares, for the host and the device alike (CUDA's expf/logf on the device,
// the C library's on the host).
#include <cmath>

#include "sinklab/core/config.hpp"

namespace sinklab::attention {

namespace detail {
SINKLAB_HOST_DEVICE SINKLAB_INLINE float exp_(float x) { return ::expf(x); }
SINKLAB_HOST_DEVICE SINKLAB_INLINE double exp_(double x) { return ::exp(x); }
SINKLAB_HOST_DEVICE SINKLAB_INLINE float log_(float x) { return ::logf(x); }
SINKLAB_HOST_DEVICE SINKLAB_INLINE double log_(double x) { return ::log(x); }
SINKLAB_HOST_DEVICE SINKLAB_INLINE float sqrt_(float x) { return ::sqrtf(x); }
SINKLAB_HOST_DEVICE SINKLAB_INLINE double sqrt_(double x) { return ::sqrt(x); }
template <class T>
SINKLAB_HOST_DEVICE SINKLAB_INLINE T abs_(T x) {
  return x < T(0) ? -x : x;
}
template <class T>
SINKLAB_HOST_DEVICE SINKLAB_INLINE T max_(T a, T b) {
  return a < b ? b : a;
}
template <class T>
SINKLAB_HOST_DEVICE SINKLAB_INLINE T min_(T a, T b) {
  return b < a ? b : a;
}
}  // namespace detail

}  // namespace sinklab::attention
