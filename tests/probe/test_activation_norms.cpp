#include <catch2/catch.hpp>

#include "sinklab/probe/activation_norms.hpp"

using namespace sinklab;

TEST_CASE("norms: per-position L2 norms and the first-token ratio", "[probe]") {
  probe::NormAccumulator acc(1, 3);
  Tensor<double> h({2, 3, 2});  // two samples; token 1 has norm 10, others norm 1 (sample 0) and 3 (sample 1)
  h[{0, 0, 0}] = 6, h[{0, 0, 1}] = 8, h[{0, 1, 0}] = 1, h[{0, 2, 1}] = 1;
  h[{1, 0, 0}] = 10, h[{1, 1, 0}] = 3, h[{1, 2, 1}] = -3;
  acc.add(0, h);
  const auto m = acc.mean();
  CHECK(m[0][0] == Approx(10));
  CHECK(m[0][1] == Approx(2));
  CHECK(acc.first_token_ratio()[0] == Approx(5));
}

TEST_CASE("massive activations: top-k and median", "[probe]") {
  Tensor<double> h = Tensor<double>::full({1, 4, 250}, 0.1);
  h[{0, 0, 7}] = -2000;
  h[{0, 0, 9}] = 150;
  const auto s = probe::massive_activations(h, 3);
  CHECK(s.top == std::vector<double>{2000, 150, 0.1});
  CHECK(s.median == Approx(0.1));
  CHECK(s.massive);
  CHECK(!probe::massive_activations(Tensor<double>::full({10}, 1.0)).massive);
}
