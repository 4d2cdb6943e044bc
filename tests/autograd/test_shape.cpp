// Shape ops: views forward, gradients of the input's shape backward; concat/split; errors name the shapes.
#include "grad_helpers.hpp"

using namespace sinklab;
using namespace sinklab::autograd;
using namespace sinklab::test;
using Catch::Matchers::Contains;

TEST_CASE("shape: views share storage and gradients come back in the input's shape", "[autograd][shape]") {
  auto x = leaf({2, 3, 4}, 31);
  const auto r = reshape(x, {6, -1});
  CHECK(r.shape() == Shape{6, 4});
  CHECK(r.value().shares_storage(x.value()));
  const auto p = permute(x, {2, 0, 1});
  CHECK(p.shape() == Shape{4, 2, 3});
  CHECK(!p.value().is_contiguous());
  CHECK(p.value()[{3, 1, 2}] == x.value()[{1, 2, 3}]);
  sum(mul(p, p)).backward();
  CHECK(x.grad().shape() == x.shape());
  check_close(x.grad().to_vector(), values(mul_scalar(x, 2.0)), 1e-15, 0, "d Σx² = 2x");
}

TEST_CASE("shape: gradcheck", "[autograd][shape]") {
  const auto x = leaf({2, 3, 4}, 32);
  SINKLAB_CHECK_GRAD([](const auto& v) { return reshape(v[0], {4, 6}); }, x);
  SINKLAB_CHECK_GRAD([](const auto& v) { return permute(v[0], {1, 2, 0}); }, x);
  SINKLAB_CHECK_GRAD([](const auto& v) { return transpose(v[0], -1, 0); }, x);
  SINKLAB_CHECK_GRAD([](const auto& v) { return slice(v[0], 2, 1, 3); }, x);
  SINKLAB_CHECK_GRAD([](const auto& v) { return slice(v[0], -2, -2, 100); }, x);
  SINKLAB_CHECK_GRAD([](const auto& v) { return contiguous(permute(v[0], {2, 1, 0})); }, x);
  SINKLAB_CHECK_GRAD([](const auto& v) { return reshape(transpose(v[0], 0, 1), {-1}); },
                     x);  // reshape of a view copies
}

TEST_CASE("shape: concat and split", "[autograd][shape]") {
  const auto a = leaf({2, 1, 3}, 33), b = leaf({3, 2, 2}, 34), c = leaf({2, 2, 3}, 35);
  // b enters permuted (non-contiguous) to (2, 2, 3).
  const Fn cat = [](const auto& v) { return concat<double>({v[0], permute(v[1], {1, 2, 0}), v[2]}, 1); };
  CHECK(cat({a, b, c}).shape() == Shape{2, 5, 3});
  SINKLAB_CHECK_GRAD(cat, a, b, c);
  const auto x = leaf({2, 6}, 36);
  const auto parts = split(x, {1, 0, 5}, 1);
  REQUIRE(parts.size() == 3);
  CHECK(parts[1].shape() == Shape{2, 0});
  CHECK(parts[2].value()[{1, 0}] == x.value()[{1, 1}]);
  SINKLAB_CHECK_GRAD(
      [](const auto& v) {
        auto p = split(v[0], {2, 4}, -1);
        return concat<double>({p[1], mul(p[0], p[0])}, 1);
      },
      x);
}

TEST_CASE("shape: empty tensors", "[autograd][shape][empty]") {
  check_empty_backward([](const auto& v) { return reshape(v[0], {3, 0}); }, {{0, 3}}, {3, 0});
  check_empty_backward([](const auto& v) { return permute(v[0], {1, 0}); }, {{0, 3}}, {3, 0});
  check_empty_backward([](const auto& v) { return slice(v[0], 1, 2, 2); }, {{2, 3}}, {2, 0});
  check_empty_backward([](const auto& v) { return concat<double>({v[0], v[1]}, 0); }, {{0, 3}, {2, 3}}, {2, 3});
}

TEST_CASE("shape: errors name the shapes", "[autograd][shape][errors]") {
  const auto a = leaf({2, 3}, 37), b = leaf({2, 4}, 38);
  CHECK_THROWS_WITH(concat<double>({a, b}, 0), Contains("(2, 3)") && Contains("(2, 4)"));
  CHECK_THROWS_WITH(reshape(a, {4, 2}), Contains("(2, 3)") && Contains("(4, 2)"));
  CHECK_THROWS_WITH(split(a, {1, 1}, 1), Contains("(2, 3)") && Contains("add up to 2"));
  CHECK_THROWS_WITH(slice(a, 1, 2, 1), Contains("(2, 3)"));
  CHECK_THROWS_WITH(permute(a, {0, 0}), Contains("repeated"));
}
