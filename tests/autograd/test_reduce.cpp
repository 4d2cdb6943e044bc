// Reductions: sum/mean over all or one axis, max with first-argmax gradient; empty tensors; axis errors.
#include "grad_helpers.hpp"

using namespace sinklab;
using namespace sinklab::autograd;
using namespace sinklab::test;
using Catch::Matchers::Contains;

TEST_CASE("reduce: forward values", "[autograd][reduce]") {
  const auto x = leaf_of({2, 3}, {1, 5, 2, 7, 0, 7});
  CHECK(sum(x).shape() == Shape{});
  CHECK(sum(x).item() == 22);
  CHECK(values(sum(x, 0)) == std::vector<double>{8, 5, 9});
  CHECK(sum(x, -1, true).shape() == Shape{2, 1});
  CHECK(mean(x).item() == Approx(22.0 / 6));
  CHECK(values(mean(x, 1)) == std::vector<double>{8.0 / 3, 14.0 / 3});
  CHECK(values(max(x, 1)) == std::vector<double>{5, 7});
  CHECK(values(max(x, 0, true)) == std::vector<double>{7, 5, 7});
}

TEST_CASE("reduce: gradcheck over every axis, keepdim or not", "[autograd][reduce]") {
  const auto x = leaf({2, 3, 4}, 21);
  SINKLAB_CHECK_GRAD([](const auto& v) { return sum(v[0]); }, x);
  SINKLAB_CHECK_GRAD([](const auto& v) { return mean(v[0]); }, x);
  for (int axis : {0, 1, 2, -1})
    for (bool keep : {false, true}) {
      INFO("axis " << axis << " keepdim " << keep);
      SINKLAB_CHECK_GRAD([=](const auto& v) { return sum(v[0], axis, keep); }, x);
      SINKLAB_CHECK_GRAD([=](const auto& v) { return mean(v[0], axis, keep); }, x);
      SINKLAB_CHECK_GRAD([=](const auto& v) { return max(v[0], axis, keep); }, x);
    }
}

TEST_CASE("reduce: max sends the gradient to the first maximum only", "[autograd][reduce]") {
  auto x = leaf_of({2, 3}, {1, 5, 5, 7, 0, 7});
  sum(max(x, 1)).backward();
  CHECK(x.grad().to_vector() == std::vector<double>{0, 1, 0, 1, 0, 0});
}

TEST_CASE("reduce: non-contiguous and size-1 inputs", "[autograd][reduce]") {
  const auto x = leaf({3, 1, 4}, 22);
  SINKLAB_CHECK_GRAD([](const auto& v) { return sum(permute(v[0], {2, 0, 1}), 1); }, x);
  SINKLAB_CHECK_GRAD([](const auto& v) { return max(transpose(v[0], 0, 2), 2, true); }, x);
  SINKLAB_CHECK_GRAD([](const auto& v) { return mean(v[0], 1); }, x);
}

TEST_CASE("reduce: empty tensors", "[autograd][reduce][empty]") {
  check_empty_backward([](const auto& v) { return sum(v[0], 0); }, {{0, 3}}, {3});
  check_empty_backward([](const auto& v) { return sum(v[0], 1); }, {{0, 3}}, {0});
  check_empty_backward([](const auto& v) { return max(v[0], 1); }, {{0, 3}}, {0});
  check_empty_backward([](const auto& v) { return mean(v[0], 1, true); }, {{0, 3}}, {0, 1});
  CHECK(sum(VarD(Tensor<double>({0, 3}), true)).item() == 0.0);
  CHECK_THROWS_WITH(max(VarD(Tensor<double>({2, 0}), true), 1), Contains("empty axis") && Contains("(2, 0)"));
}

TEST_CASE("reduce: axis out of range", "[autograd][reduce][errors]") {
  const auto x = leaf({2, 3}, 23);
  CHECK_THROWS_WITH(sum(x, 2), Contains("axis 2") && Contains("rank 2"));
  CHECK_THROWS_WITH(max(x, -3), Contains("axis -3"));
}
