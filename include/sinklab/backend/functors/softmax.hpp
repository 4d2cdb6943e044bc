#pragma once
// Online log-sum-exp (Milakov & Gimelshein 2018, "Online normalizer calculation for softmax", alg. 3): a running
// (max, scaled sum) pair that merges associatively, so a row can be reduced in any split/order without a second
// pass over the data. Softmax, log-softmax and cross-entropy all finish from it.
#include <cmath>

#include "sinklab/core/config.hpp"

namespace sinklab::backend::functors {

// Note [empty lse state]: the state of no elements, {m = −∞, s = 0}, is the identity of merge, and an element of
// −∞ (a masked or banned logit) adds e^{−∞} = 0, so push leaves the state as it was. Both must be said explicitly:
// the general formulas take e^{−∞ − (−∞)} = NaN. The CUDA row kernels push elements j ≡ t (mod 256) into thread
// t's state and merge the 256 states, so a thread whose first element is −∞ (position 1 of a row longer than 256,
// say) used to turn the whole row into NaN. An all-−∞ row ends as the empty state: lse = −∞ and every output
// x − lse is NaN, which is what the CPU backend gives for such a row.
struct OnlineLse {
  float m = -INFINITY;  // running max
  float s = 0.0f;       // Σ exp(x - m)

  SINKLAB_HOST_DEVICE bool empty() const { return m == -INFINITY && s == 0.0f; }
  SINKLAB_HOST_DEVICE void push(float x) {
    if (x == -INFINITY) return;  // contributes 0; see Note [empty lse state]
    if (x > m) {
      s = s * expf(m - x) + 1.0f;  // exact under max shift: rescale the old sum to the new max
      m = x;
    } else {
      s += expf(x - m);  // NaN x (or +∞ twice) gives NaN, as on the CPU
    }
  }
  SINKLAB_HOST_DEVICE static OnlineLse merge(OnlineLse a, OnlineLse b) {
    // empty(), not m == −∞: a state that saw only NaN and −∞ has m = −∞ but s = NaN, and must not be dropped
    if (a.empty()) return b;
    if (b.empty()) return a;
    OnlineLse r;
    r.m = a.m > b.m ? a.m : b.m;
    r.s = a.s * expf(a.m - r.m) + b.s * expf(b.m - r.m);
    return r;
  }
  SINKLAB_HOST_DEVICE float lse() const { return m + logf(s); }
};

// Functor form for cub::BlockReduce.
struct MergeLse {
  SINKLAB_HOST_DEVICE OnlineLse operator()(const OnlineLse& a, const OnlineLse& b) const { return OnlineLse::merge(a, b); }
};

// The outputs from the row's lse (the kernels' last pass): softmax y = e^{x − lse}, log_softmax y = x − lse.
SINKLAB_HOST_DEVICE inline float softmax_from_lse(float x, float lse) { return expf(x - lse); }
SINKLAB_HOST_DEVICE inline float log_softmax_from_lse(float x, float lse) { return x - lse; }

// softmax backward: dx_i = y_i (dy_i − Σ_j y_j dy_j)
SINKLAB_HOST_DEVICE inline float softmax_grad(float y, float dy, float dot_y_dy) { return y * (dy - dot_y_dy); }
// log_softmax backward: dx_i = dy_i − exp(y_i) Σ_j dy_j
SINKLAB_HOST_DEVICE inline float log_softmax_grad(float y, float dy, float sum_dy) { return dy - expf(y) * sum_dy; }

// Cross-entropy of one row, mean-reduced over `count` rows by the caller's scale:
//   loss = lse(x) − x_target;   dx_j = scale·(exp(x_j − lse) − [j == target])
// The probabilities are never stored: the backward recomputes exp(x_j − lse) from the saved per-row lse.
SINKLAB_HOST_DEVICE inline float cross_entropy_loss(float lse, float x_target) { return lse - x_target; }
SINKLAB_HOST_DEVICE inline float cross_entropy_grad(float x, float lse, bool is_target, float scale) {
  return scale * (expf(x - lse) - (is_target ? 1.0f : 0.0f));
}

}  // namespace sinklab::backend::functors
