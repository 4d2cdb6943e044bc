// Pointwise unary ops: forward against the formula, gradcheck away from kinks, non-contiguous, empty, errors.
#include <cmath>

#include "grad_helpers.hpp"

using namespace sinklab;
using namespace sinklab::autograd;
using namespace sinklab::test;
using Catch::Matchers::Contains;

namespace {
// Values kept away from 0 and ±0.5 so kinks (abs, relu, clamp(-0.5, 0.5)) are out of the h-neighbourhood.
const std::vector<double> kVals{-2.1, -1.3, -0.7, -0.2, 0.3, 0.8, 1.4, 2.6};
VarD kinked() { return leaf_of({2, 4}, kVals); }
}  // namespace

TEST_CASE("unary: forward values", "[autograd][unary]") {
  const auto x = kinked();
  std::vector<double> gelu_ref, silu_ref, elu_ref, clamp_ref, sig_ref;
  for (double v : kVals) {
    gelu_ref.push_back(0.5 * v * (1 + std::erf(v / std::sqrt(2.0))));
    silu_ref.push_back(v / (1 + std::exp(-v)));
    sig_ref.push_back(1 / (1 + std::exp(-v)));
    elu_ref.push_back(v > 0 ? v : 0.7 * (std::exp(v) - 1));
    clamp_ref.push_back(std::min(0.5, std::max(-0.5, v)));
  }
  check_close(values(gelu(x)), gelu_ref, 1e-14, 1e-15, "gelu");
  check_close(values(silu(x)), silu_ref, 1e-14, 1e-15, "silu");
  check_close(values(sigmoid(x)), sig_ref, 1e-14, 1e-15, "sigmoid");
  check_close(values(elu(x, 0.7)), elu_ref, 1e-14, 1e-15, "elu");
  check_close(values(clamp(x, -0.5, 0.5)), clamp_ref, 0, 0, "clamp");
  CHECK(values(relu(x))[0] == 0.0);
  CHECK(values(abs(x))[0] == 2.1);
}

TEST_CASE("unary: gradcheck", "[autograd][unary]") {
  const auto x = kinked(), pos = leaf({2, 4}, 11, 0.2, 2.0);
  SINKLAB_CHECK_GRAD([](const auto& v) { return exp(v[0]); }, x);
  SINKLAB_CHECK_GRAD([](const auto& v) { return log(v[0]); }, pos);
  SINKLAB_CHECK_GRAD([](const auto& v) { return sqrt(v[0]); }, pos);
  SINKLAB_CHECK_GRAD([](const auto& v) { return abs(v[0]); }, x);
  SINKLAB_CHECK_GRAD([](const auto& v) { return tanh(v[0]); }, x);
  SINKLAB_CHECK_GRAD([](const auto& v) { return sigmoid(v[0]); }, x);
  SINKLAB_CHECK_GRAD([](const auto& v) { return silu(v[0]); }, x);
  SINKLAB_CHECK_GRAD([](const auto& v) { return gelu(v[0]); }, x);
  SINKLAB_CHECK_GRAD([](const auto& v) { return relu(v[0]); }, x);
  SINKLAB_CHECK_GRAD([](const auto& v) { return elu(v[0], 0.7); }, x);
  SINKLAB_CHECK_GRAD([](const auto& v) { return clamp(v[0], -0.5, 0.5); }, x);
}

TEST_CASE("unary: clamp passes no gradient outside [lo, hi]", "[autograd][unary]") {
  auto x = kinked();
  sum(clamp(x, -0.5, 0.5)).backward();
  const auto g = x.grad().to_vector();
  for (std::size_t i = 0; i < kVals.size(); ++i) CHECK(g[i] == (std::abs(kVals[i]) <= 0.5 ? 1.0 : 0.0));
}

TEST_CASE("unary: masked_fill broadcasts the mask and blocks its gradient", "[autograd][unary]") {
  const auto x = leaf({3, 4}, 12);
  const auto mask = Tensor<double>::from({1, 4}, {1, 0, 0, 1});
  const auto y = masked_fill(x, mask, -1e9);
  CHECK(y.value()[{2, 0}] == -1e9);
  CHECK(y.value()[{2, 1}] == x.value()[{2, 1}]);
  SINKLAB_CHECK_GRAD([mask](const auto& v) { return masked_fill(v[0], mask, 3.0); }, x);
  CHECK_THROWS_WITH(masked_fill(x, Tensor<double>({2, 4}), 0.0), Contains("(2, 4)") && Contains("(3, 4)"));
}

TEST_CASE("unary: non-contiguous inputs", "[autograd][unary]") {
  const auto a = leaf({4, 3}, 13), p = leaf({6, 2}, 14, 0.3, 1.5);
  SINKLAB_CHECK_GRAD([](const auto& v) { return gelu(transpose(v[0], 0, 1)); }, a);
  SINKLAB_CHECK_GRAD([](const auto& v) { return log(slice(v[0], 0, 1, 5)); }, p);
}

TEST_CASE("unary: empty tensors", "[autograd][unary][empty]") {
  check_empty_backward([](const auto& v) { return exp(v[0]); }, {{0, 4}}, {0, 4});
  check_empty_backward([](const auto& v) { return gelu(silu(v[0])); }, {{3, 0}}, {3, 0});
  check_empty_backward([](const auto& v) { return masked_fill(v[0], Tensor<double>({1}), 0.0); }, {{0}}, {0});
}
