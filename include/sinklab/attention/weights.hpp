#pragma once
// Probe weights A (B, H, S, S) — or (B, H, S, S + 1) with a sink slot, the slot in column 0 — as DESIGN §4 defines
// them for the sink metric:
//   * score maps whose row stage makes a distribution-like row (RowSum*, RowSumPlusSink, *ClampMin1): the actual
//     weights A_ij = κ(s_ij)/ρ_i (softmax₁ / sink rows sum to < 1: the missing mass is the point);
//   * other score maps (DivCount, None): the sink paper's proxy w/(Σ_j w + 1e-8);
//   * feature kernels: |w|/(Σ_j |w| + 1e-8).
// Gates and the vector stage act on rows of A·V, not on A, and are not part of the map.
// WeightsMode::raw gives instead the coefficient each value really gets, κ_ij/ρ_i (ρ_i = the row stage's
// denominator: 1 without one, n_i for ÷n_i), whether or not the row sums to one. For distribution-like rows the
// two maps are the same; for unnormalised variants the sink paper's metric reads the probe map, and the raw mass on
// the first token is reported beside it (a head can park 0.9 of its proxy weight on token 1 with a raw mass of 0.01).
#include <cmath>
#include <cstddef>

#include "sinklab/attention/reference.hpp"

namespace sinklab::attention {

enum class WeightsKind { actual, score_proxy, abs_proxy };
enum class WeightsMode { probe, raw };

template <class V>
constexpr WeightsKind weights_kind() {
  using K = typename V::kernel;
  using Row = typename V::row_stage;
  if constexpr (K::is_feature)
    return WeightsKind::abs_proxy;
  else if constexpr (Row::data_dependent)
    return WeightsKind::actual;
  else
    return WeightsKind::score_proxy;
}

template <class V, class T>
void attention_weights_unscaled(const AttentionParams<T>& p, const Inputs<T>& in, T* A, WeightsMode mode) {
  const detail::Context<V, T> c(p, in);
  const int cols = p.keys();
  for (int b = 0; b < p.B; ++b)
    for (int h = 0; h < p.H; ++h) {
      const auto dh = detail::dense_head(c, b, h);
      for (int i = 0; i < p.S; ++i) {
        T* out = A + (c.row(b, h, i)) * cols;
        const T* w = dh.w.data() + std::size_t(i) * cols;
        constexpr WeightsKind kind = weights_kind<V>();
        T denom;
        if (kind == WeightsKind::actual || mode == WeightsMode::raw) {
          denom = V::row_stage::rho(dh.l[i], c.n_of(i), T(0), c.sink_of(h));
          for (int col = 0; col < cols; ++col) out[col] = w[col] / denom;
        } else {
          denom = T(1e-8);
          for (int col = 0; col < cols; ++col) denom += kind == WeightsKind::abs_proxy ? std::abs(w[col]) : w[col];
          for (int col = 0; col < cols; ++col)
            out[col] = (kind == WeightsKind::abs_proxy ? std::abs(w[col]) : w[col]) / denom;
        }
      }
    }
}

// The entry point: a kernel's query scale first (Note [query scale]).
template <class V, class T>
void attention_weights(const AttentionParams<T>& p, const Inputs<T>& in, T* A, WeightsMode mode = WeightsMode::probe) {
  if constexpr (scales_queries_v<V>)
    query_scale::forward<V>(p, in,
                            [&](const Inputs<T>& q) { attention_weights_unscaled<unscaled_variant_t<V>>(p, q, A, mode); });
  else
    attention_weights_unscaled<V>(p, in, A, mode);
}

}  // namespace sinklab::attention
