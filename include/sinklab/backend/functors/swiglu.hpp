#pragma once
// SwiGLU (Shazeer 2020, "GLU Variants Improve Transformer", eq. 6): h = silu(g) ⊙ u.
//   dg = dh · u · σ(g)(1 + g(1 − σ(g))),   du = dh · silu(g)
#include "sinklab/backend/functors/elementwise.hpp"

namespace sinklab::backend::functors {

SINKLAB_HOST_DEVICE inline float swiglu_fwd(float g, float u) { return Silu{}(g) * u; }
SINKLAB_HOST_DEVICE inline void swiglu_bwd(float g, float u, float dh, float& dg, float& du) {
  const float s = Sigmoid{}(g);
  dg = dh * u * s * (1.0f + g * (1.0f - s));
  du = dh * g * s;
}

}  // namespace sinklab::backend::functors
