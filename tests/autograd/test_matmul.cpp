// matmul (every transpose flag, batched, shared 2-D b) and linear: forward vs loops, gradcheck, empty, errors.
#include "grad_helpers.hpp"

using namespace sinklab;
using namespace sinklab::autograd;
using namespace sinklab::test;
using Catch::Matchers::Contains;

namespace {
// Naive C[i,j] = Σ_k A[i,k] B[k,j] for 2-D tensors of any strides.
Tensor<double> naive_mm(const Tensor<double>& a, const Tensor<double>& b) {
  Tensor<double> c({a.size(0), b.size(1)});
  for (int64_t i = 0; i < a.size(0); ++i)
    for (int64_t j = 0; j < b.size(1); ++j) {
      double s = 0;
      for (int64_t k = 0; k < a.size(1); ++k) s += a[{i, k}] * b[{k, j}];
      c[{i, j}] = s;
    }
  return c;
}
}  // namespace

TEST_CASE("matmul: forward matches a naive loop for every transpose flag", "[autograd][matmul]") {
  const auto a = leaf({3, 4}, 41), at = leaf({4, 3}, 42), b = leaf({4, 5}, 43), bt = leaf({5, 4}, 44);
  const auto ref = [](const VarD& x, const VarD& y, bool tx, bool ty) {
    return naive_mm(tx ? x.value().transpose(0, 1) : x.value(), ty ? y.value().transpose(0, 1) : y.value()).to_vector();
  };
  check_close(values(matmul(a, b)), ref(a, b, false, false), 1e-13, 1e-14, "nn");
  check_close(values(matmul(at, b, true, false)), ref(at, b, true, false), 1e-13, 1e-14, "tn");
  check_close(values(matmul(a, bt, false, true)), ref(a, bt, false, true), 1e-13, 1e-14, "nt");
  check_close(values(matmul(at, bt, true, true)), ref(at, bt, true, true), 1e-13, 1e-14, "tt");
}

TEST_CASE("matmul: gradcheck, 2-D, batched and shared b", "[autograd][matmul]") {
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      INFO("ta " << ta << " tb " << tb);
      const Shape sa = ta ? Shape{4, 3} : Shape{3, 4}, sb = tb ? Shape{5, 4} : Shape{4, 5};
      const Fn f = [=](const auto& v) { return matmul(v[0], v[1], ta, tb); };
      SINKLAB_CHECK_GRAD(f, leaf(sa, 45), leaf(sb, 46));
      Shape ba = sa, bb = sb;
      ba.insert(ba.begin(), 2);
      bb.insert(bb.begin(), 2);
      SINKLAB_CHECK_GRAD(f, leaf(ba, 47), leaf(bb, 48));  // batched
      ba.insert(ba.begin(), 2);
      SINKLAB_CHECK_GRAD(f, leaf(ba, 49), leaf(sb, 50));  // (2, 2, …) × shared 2-D b
    }
}

TEST_CASE("matmul: non-contiguous and size-1 inputs", "[autograd][matmul]") {
  SINKLAB_CHECK_GRAD(
      [](const auto& v) {
        return matmul(transpose(v[0], 1, 2), permute(v[1], {0, 2, 1}));
      },
      leaf({2, 4, 3}, 51), leaf({2, 5, 4}, 52));
  SINKLAB_CHECK_GRAD([](const auto& v) { return matmul(v[0], v[1]); }, leaf({1, 1, 4}, 53), leaf({4, 1}, 54));
}

TEST_CASE("linear: x Wᵀ + b", "[autograd][matmul][linear]") {
  const auto x = leaf({2, 3, 4}, 55), w = leaf({5, 4}, 56), b = leaf({5}, 57);
  const auto y = linear(x, w, b);
  REQUIRE(y.shape() == Shape{2, 3, 5});
  auto ref = naive_mm(x.value().reshape({6, 4}), w.value().transpose(0, 1));
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t j = 0; j < 5; ++j) ref[{i, j}] += b.value()[{j}];
  check_close(values(y), ref.to_vector(), 1e-13, 1e-14, "linear");
  SINKLAB_CHECK_GRAD([](const auto& v) { return linear(v[0], v[1], v[2]); }, x, w, b);
  SINKLAB_CHECK_GRAD([](const auto& v) { return linear(v[0], v[1]); }, x, w);
  SINKLAB_CHECK_GRAD([](const auto& v) { return linear(permute(v[0], {1, 0, 2}), v[1]); }, x, w);   // non-contiguous x
  SINKLAB_CHECK_GRAD([](const auto& v) { return linear(v[0], v[1], v[2]); }, leaf({4}, 58), w, b);  // 1-D x
}

TEST_CASE("matmul/linear: empty tensors", "[autograd][matmul][empty]") {
  check_empty_backward([](const auto& v) { return matmul(v[0], v[1]); }, {{0, 4}, {4, 5}}, {0, 5});
  check_empty_backward([](const auto& v) { return matmul(v[0], v[1]); }, {{3, 0}, {0, 5}}, {3, 5});
  check_empty_backward([](const auto& v) { return matmul(v[0], v[1], true, true); }, {{0, 2, 3}, {0, 4, 2}}, {0, 3, 4});
  check_empty_backward([](const auto& v) { return linear(v[0], v[1], v[2]); }, {{2, 0, 4}, {5, 4}, {5}}, {2, 0, 5});
  check_empty_backward([](const auto& v) { return linear(v[0], v[1]); }, {{3, 0}, {5, 0}}, {3, 5});
  // K = 0 gives exact zeros.
  const VarD y = matmul(VarD(Tensor<double>({3, 0})), VarD(Tensor<double>({0, 2})));
  CHECK(values(y) == std::vector<double>(6, 0.0));
}

TEST_CASE("matmul/linear: errors name both shapes", "[autograd][matmul][errors]") {
  const auto a = leaf({3, 4}, 59), b = leaf({5, 6}, 60);
  CHECK_THROWS_WITH(matmul(a, b), Contains("(3, 4)") && Contains("(5, 6)"));
  CHECK_THROWS_WITH(matmul(leaf({2, 3, 4}, 61), leaf({3, 4, 5}, 62)), Contains("(2, 3, 4)") && Contains("(3, 4, 5)"));
  CHECK_THROWS_WITH(linear(a, b), Contains("(3, 4)") && Contains("(5, 6)"));
  CHECK_THROWS_WITH(linear(a, leaf({6, 4}, 63), leaf({5}, 64)), Contains("(5,)") && Contains("(6, 4)"));
}
