// Broadcasting arithmetic: gradcheck (including broadcast, non-contiguous and size-1 inputs), empty tensors, errors.
#include "grad_helpers.hpp"

using namespace sinklab;
using namespace sinklab::autograd;
using namespace sinklab::test;
using Catch::Matchers::Contains;

TEST_CASE("arithmetic: binary ops broadcast (3,1,4) with (2,1)", "[autograd][arithmetic]") {
  const auto a = leaf({3, 1, 4}, 1), b = leaf({2, 1}, 2), bpos = leaf({2, 1}, 3, 0.5, 1.5);
  SINKLAB_CHECK_GRAD([](const auto& v) { return add(v[0], v[1]); }, a, b);
  SINKLAB_CHECK_GRAD([](const auto& v) { return sub(v[0], v[1]); }, a, b);
  SINKLAB_CHECK_GRAD([](const auto& v) { return mul(v[0], v[1]); }, a, b);
  SINKLAB_CHECK_GRAD([](const auto& v) { return div(v[0], v[1]); }, a, bpos);
  CHECK(add(a, b).shape() == Shape{3, 2, 4});
}

TEST_CASE("arithmetic: unary and scalar ops", "[autograd][arithmetic]") {
  const auto a = leaf({2, 3}, 4), p = leaf({2, 3}, 5, 0.5, 2.0);
  SINKLAB_CHECK_GRAD([](const auto& v) { return neg(v[0]); }, a);
  SINKLAB_CHECK_GRAD([](const auto& v) { return add_scalar(v[0], 0.5); }, a);
  SINKLAB_CHECK_GRAD([](const auto& v) { return mul_scalar(v[0], -1.5); }, a);
  SINKLAB_CHECK_GRAD([](const auto& v) { return pow(v[0], 2.5); }, p);
  SINKLAB_CHECK_GRAD([](const auto& v) { return v[0] * v[1] + v[0] / v[1] - (-v[1]); }, a, p);
}

TEST_CASE("arithmetic: non-contiguous and size-1 inputs", "[autograd][arithmetic]") {
  const auto a = leaf({4, 3}, 6), b = leaf({3, 4}, 7), c = leaf({1, 1}, 8), d = leaf({5, 4}, 9);
  SINKLAB_CHECK_GRAD([](const auto& v) { return mul(permute(v[0], {1, 0}), v[1]); }, a, b);
  SINKLAB_CHECK_GRAD([](const auto& v) { return div(add(v[0], v[1]), add_scalar(v[1], 3.0)); }, a, c);
  SINKLAB_CHECK_GRAD([](const auto& v) { return sub(slice(v[0], 0, 1, 4), slice(v[1], 1, 1, 5)); }, d,
                     leaf({3, 6}, 10));
}

TEST_CASE("arithmetic: empty tensors", "[autograd][arithmetic][empty]") {
  check_empty_backward([](const auto& v) { return mul(v[0], v[1]); }, {{0, 3}, {0, 3}}, {0, 3});
  check_empty_backward([](const auto& v) { return add(v[0], v[1]); }, {{2, 0, 3}, {1, 3}}, {2, 0, 3});
  check_empty_backward([](const auto& v) { return div(v[0], v[1]); }, {{0}, {1}}, {0});
}

TEST_CASE("arithmetic: shape mismatch names both shapes", "[autograd][arithmetic][errors]") {
  const auto a = leaf({2, 3}, 1), b = leaf({4, 3}, 2);
  CHECK_THROWS_WITH(add(a, b), Contains("(2, 3)") && Contains("(4, 3)"));
  CHECK_THROWS_WITH(mul(a, leaf({3, 2}, 3)), Contains("(2, 3)") && Contains("(3, 2)"));
}
