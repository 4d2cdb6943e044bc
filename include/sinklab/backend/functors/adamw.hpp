#pragma once
// AdamW (Loshchilov & Hutter 2019, alg. 2) on fp32 master weights, matching sinklab::optim::AdamW:
//   m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²;  w ← w(1 − lr·wd) − lr·(m/bc1)/(√(v/bc2) + eps)
// bc1 = 1 − β1^t, bc2 = 1 − β2^t are computed once per step on the host.
#include <cmath>

#include "sinklab/core/config.hpp"

namespace sinklab::backend::functors {

struct AdamWStep {
  float lr, beta1, beta2, eps, bc1, bc2;
  SINKLAB_HOST_DEVICE void operator()(float& w, float& m, float& v, float g, float weight_decay) const {
    m = beta1 * m + (1.0f - beta1) * g;
    v = beta2 * v + (1.0f - beta2) * g * g;
    const float denom = sqrtf(v / bc2) + eps;
    w = w * (1.0f - lr * weight_decay) - lr * (m / bc1) / denom;
  }
};

}  // namespace sinklab::backend::functors
