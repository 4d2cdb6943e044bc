// cross_entropy: forward vs −log_softmax picked, ignore_index (including all ignored), stability, gradcheck of the
// mean and per-token forms, errors.
#include <cmath>

#include "grad_helpers.hpp"

using namespace sinklab;
using namespace sinklab::autograd;
using namespace sinklab::test;
using Catch::Matchers::Contains;

TEST_CASE("cross_entropy: equals mean −log_softmax at the targets, skipping ignored rows", "[autograd][xent]") {
  const auto x = leaf({4, 6}, 121, -3, 3);
  const auto t = Tensor<int32_t>::from({4}, {2, -100, 5, 0});
  const auto ls = log_softmax(x).value();
  const double ref = -(ls[{0, 2}] + ls[{2, 5}] + ls[{3, 0}]) / 3;
  CHECK(cross_entropy(x, t).item() == Approx(ref).epsilon(1e-14));
  const auto per = values(cross_entropy_per_token(x, t));
  CHECK(per[0] == Approx(-ls[{0, 2}]).epsilon(1e-14));
  CHECK(per[1] == 0.0);
  // Custom ignore_index.
  CHECK(cross_entropy(x, Tensor<int32_t>::from({4}, {2, 3, 3, 0}), 3).item() == Approx(-(ls[{0, 2}] + ls[{3, 0}]) / 2));
}

TEST_CASE("cross_entropy: stable at large logits", "[autograd][xent]") {
  const auto x = leaf_of({1, 3}, {1000, 1001, 1002});
  const double lse = 1002 + std::log(std::exp(-2.0) + std::exp(-1.0) + 1);
  CHECK(cross_entropy(x, Tensor<int32_t>::from({1}, {0})).item() == Approx(lse - 1000).epsilon(1e-13));
}

TEST_CASE("cross_entropy: gradcheck", "[autograd][xent]") {
  const auto t = Tensor<int32_t>::from({5}, {1, 3, -100, 0, 3});
  SINKLAB_CHECK_GRAD([t](const auto& v) { return cross_entropy(v[0], t); }, leaf({5, 4}, 122, -2, 2));
  SINKLAB_CHECK_GRAD([t](const auto& v) { return cross_entropy_per_token(v[0], t); }, leaf({5, 4}, 123, -2, 2));
  // Non-contiguous logits: (V, N) transposed.
  SINKLAB_CHECK_GRAD([t](const auto& v) { return cross_entropy(transpose(v[0], 0, 1), t); }, leaf({4, 5}, 124));
}

TEST_CASE("cross_entropy: all targets ignored gives 0 and a zero gradient", "[autograd][xent][empty]") {
  auto x = leaf({3, 4}, 125);
  const auto l = cross_entropy(x, Tensor<int32_t>::full({3}, -100));
  CHECK(l.item() == 0.0);
  l.backward();
  CHECK(x.grad().to_vector() == std::vector<double>(12, 0.0));
  check_empty_backward([](const auto& v) { return cross_entropy_per_token(v[0], Tensor<int32_t>({0})); }, {{0, 4}},
                       {0});
}

TEST_CASE("cross_entropy: errors", "[autograd][xent][errors]") {
  const auto x = leaf({3, 4}, 126);
  CHECK_THROWS_WITH(cross_entropy(x, Tensor<int32_t>({2})), Contains("(3, 4)") && Contains("(2,)"));
  CHECK_THROWS_WITH(cross_entropy(x, Tensor<int32_t>::from({3}, {0, 4, 1})), Contains("target 4") && Contains("V = 4"));
}
