#pragma once
// Rotary position embedding (Su et al. 2021, "RoFormer", eq. 34). Pair (i, j) of a head vector of size D is rotated
// by angle pos·θ_k with θ_k = base^(−2k/D):
//   RotateHalf  (GPT-NeoX/Llama HF layout):  pairs (k, k + D/2)
//   Interleaved (original/GPT-J/Meta layout): pairs (2k, 2k + 1)
// Forward rotates by +angle; backward is the transpose, i.e. rotation by −angle.
#include <cmath>

#include "sinklab/core/config.hpp"

namespace sinklab::backend::functors {

enum class RopeLayout { RotateHalf, Interleaved };

struct RopePair {
  int i, j, k;  // element indices of the pair in the head vector, and the frequency index
};

SINKLAB_HOST_DEVICE inline RopePair rope_pair(RopeLayout layout, int p, int dim) {
  // p in [0, dim/2)
  return layout == RopeLayout::RotateHalf ? RopePair{p, p + dim / 2, p} : RopePair{2 * p, 2 * p + 1, p};
}

SINKLAB_HOST_DEVICE inline float rope_angle(int pos, int k, int dim, float base) {
  // θ_k = base^(−2k/D), in float on both sides so host and device agree to rounding of sin/cos.
  return static_cast<float>(pos) * powf(base, -2.0f * static_cast<float>(k) / static_cast<float>(dim));
}

// (a, b) ↦ (a cos − b sin, a sin + b cos); with `inverse` the rotation by −angle (the backward).
SINKLAB_HOST_DEVICE inline void rope_rotate(float& a, float& b, float c, float s, bool inverse) {
  if (inverse) s = -s;
  const float na = a * c - b * s;
  const float nb = a * s + b * c;
  a = na;
  b = nb;
}

}  // namespace sinklab::backend::functors
