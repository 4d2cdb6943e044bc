#pragma once
// RMSNorm (Zhang & Sennrich 2019, eq. 4) and LayerNorm (Ba et al. 2016) row math. A kernel reduces the row sums,
// then calls these per element; the CPU test calls the same functions in a plain loop.
#include <cmath>

#include "sinklab/core/config.hpp"

namespace sinklab::backend::functors {

// RMSNorm: r = 1/√(mean(x²) + eps);  y = x·r·w
SINKLAB_HOST_DEVICE inline float rms_inv(float sum_sq, int n, float eps) { return 1.0f / sqrtf(sum_sq / n + eps); }
SINKLAB_HOST_DEVICE inline float rms_norm_fwd(float x, float w, float r) { return x * r * w; }
// dx_i = r·(w_i dy_i − x_i · r² · mean_j(w_j dy_j x_j));   dw_i = Σ_rows dy_i x_i r
// `dot` is Σ_j w_j dy_j x_j over the row.
SINKLAB_HOST_DEVICE inline float rms_norm_dx(float x, float w, float dy, float r, float dot, int n) {
  return r * (w * dy - x * r * r * dot / n);
}
SINKLAB_HOST_DEVICE inline float rms_norm_dw(float x, float dy, float r) { return dy * x * r; }

// LayerNorm: x̂ = (x − μ)·r, r = 1/√(var + eps) (biased variance);  y = x̂·w + b
SINKLAB_HOST_DEVICE inline float layer_norm_fwd(float x, float w, float b, float mean, float r) {
  return (x - mean) * r * w + b;
}
// dx_i = r·(g_i − mean_j(g_j) − x̂_i·mean_j(g_j x̂_j)),  g = w·dy.  `sum_g` = Σ g_j, `sum_gx` = Σ g_j x̂_j.
SINKLAB_HOST_DEVICE inline float layer_norm_dx(float xhat, float g, float r, float sum_g, float sum_gx, int n) {
  return r * (g - sum_g / n - xhat * sum_gx / n);
}

// Welford's running (count, mean, M2): mergeable in any order (Chan et al. 1979), used for LayerNorm's stats.
struct Welford {
  float n = 0.0f, mean = 0.0f, m2 = 0.0f;
  SINKLAB_HOST_DEVICE void push(float x) {
    n += 1.0f;
    const float d = x - mean;
    mean += d / n;
    m2 += d * (x - mean);
  }
  SINKLAB_HOST_DEVICE static Welford merge(const Welford& a, const Welford& b) {
    if (a.n == 0.0f) return b;
    if (b.n == 0.0f) return a;
    Welford r;
    r.n = a.n + b.n;
    const float d = b.mean - a.mean;
    r.mean = a.mean + d * b.n / r.n;
    r.m2 = a.m2 + b.m2 + d * d * a.n * b.n / r.n;
    return r;
  }
  SINKLAB_HOST_DEVICE float var() const { return n > 0.0f ? m2 / n : 0.0f; }  // biased, as LayerNorm uses
};
struct MergeWelford {
  SINKLAB_HOST_DEVICE Welford operator()(const Welford& a, const Welford& b) const { return Welford::merge(a, b); }
};

}  // namespace sinklab::backend::functors
