#include <catch2/catch.hpp>

#include "sinklab/probe/sink_metric.hpp"

using namespace sinklab;

// A causal map where every query puts weight w0 on key 1 and spreads the rest uniformly over its other keys.
static Tensor<double> sink_map(int64_t T, double w0, int64_t heads = 1) {
  Tensor<double> m({heads, T, T});
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t t = 0; t < T; ++t) {
      if (t == 0) {
        m[{h, 0, 0}] = 1.0;
        continue;
      }
      m[{h, t, 0}] = w0;
      for (int64_t k = 1; k <= t; ++k) m[{h, t, k}] = (1 - w0) / double(t);
    }
  return m;
}

TEST_CASE("sink metric: importance on a hand-built map", "[probe]") {
  // T = 4, w0 = 0.5: α_1 = (1 + 0.5·3)/4 = 0.625; α_4 = A_{4,4} = 0.5/3.
  const auto m = sink_map(4, 0.5);
  const auto a = probe::key_importance(m.data(), 4, 4);
  CHECK(a[0] == Approx(0.625));
  CHECK(a[3] == Approx(0.5 / 3.0));
  // α_2 = (A22 + A32 + A42) / 3 = (0.5 + 0.25 + 0.5/3) / 3
  CHECK(a[1] == Approx((0.5 + 0.25 + 0.5 / 3.0) / 3.0));
}

TEST_CASE("sink metric: Sink_k^eps counts heads over the threshold", "[probe]") {
  probe::SinkAccumulator acc(2, 2, 8);
  // Layer 0: head 0 strong sink, head 1 none (uniform causal); layer 1: both strong.
  Tensor<double> l0({2, 8, 8});
  l0.slice(0, 0, 1).copy_(sink_map(8, 0.9));
  for (int64_t t = 0; t < 8; ++t)
    for (int64_t k = 0; k <= t; ++k) l0[{1, t, k}] = 1.0 / double(t + 1);
  const auto l1 = sink_map(8, 0.8, 2);
  acc.add_sample(std::vector<Tensor<double>>{l0, l1});
  // Uniform causal attention has α_1 = H_8 / 8 ≈ 0.34, so ε = 0.4 separates it from the sinks (≥ 0.825).
  const auto rate = acc.sink_rate(0.4, 10);
  REQUIRE(rate.size() == 8);
  CHECK(rate[0] == Approx(75.0));  // 3 of 4 heads
  CHECK(rate[1] == Approx(0.0));
  const auto per_head = acc.sink_rate_per_head(0.4);
  CHECK(per_head[{0, 0}] == Approx(100.0));
  CHECK(per_head[{0, 1}] == Approx(0.0));
  CHECK(acc.sink_rate(0.3, 10)[0] == Approx(100.0));  // at ε = 0.3 the uniform head counts too
  // Uniform causal: α_1 = (1/T) Σ_t 1/t = H_8 / 8.
  double h8 = 0;
  for (int t = 1; t <= 8; ++t) h8 += 1.0 / t;
  CHECK(acc.mean_alpha()[{0, 1, 0}] == Approx(h8 / 8));
}

TEST_CASE("sink metric: a sink-slot map scores column 1 as the first token", "[probe]") {
  // Column 0 (the slot) takes 0.7 of every row; token 1 takes 0.3 of row 1 only.
  const int64_t T = 3;
  Tensor<double> m({1, T, T + 1});
  for (int64_t t = 0; t < T; ++t) {
    m[{0, t, 0}] = 0.7;
    for (int64_t k = 0; k <= t; ++k) m[{0, t, k + 1}] = 0.3 / double(t + 1);
  }
  const auto a = probe::key_importance(m.data(), T, T + 1);
  CHECK(a[0] == Approx((0.3 + 0.15 + 0.1) / 3));  // the slot's 0.7 is not counted as token 1
  CHECK_THROWS_WITH(probe::key_importance(m.data(), T, T + 2), Catch::Contains("columns"));
}

TEST_CASE("sink metric: unnormalised maps go through the proxy before scoring", "[probe]") {
  // Proxy w/(Σw + 1e-8) of a constant unnormalised causal map equals the uniform causal map.
  const int64_t T = 5;
  Tensor<double> m({1, T, T});
  for (int64_t t = 0; t < T; ++t) {
    double s = 0;
    for (int64_t k = 0; k <= t; ++k) s += 3.0;
    for (int64_t k = 0; k <= t; ++k) m[{0, t, k}] = 3.0 / (s + 1e-8);
  }
  const auto a = probe::key_importance(m.data(), T, T);
  CHECK(a[T - 1] == Approx(1.0 / T).epsilon(1e-6));
}
