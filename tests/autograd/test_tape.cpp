// Tape semantics: accumulation into leaves, zero_grad, NoGradGuard, detach, release of intermediate gradients,
// anomaly mode naming the forward call site, and graphs (of every op) freed when their outputs are dropped.
#include <cmath>

#include "grad_helpers.hpp"

using namespace sinklab;
using namespace sinklab::autograd;
using namespace sinklab::test;
using Catch::Matchers::Contains;

TEST_CASE("tape: leaf gradients accumulate across backward calls until zero_grad", "[autograd][tape]") {
  auto x = leaf_of({2}, {1, 2});
  sum(mul(x, x)).backward();
  CHECK(x.grad().to_vector() == std::vector<double>{2, 4});
  sum(mul_scalar(x, 3.0)).backward();
  CHECK(x.grad().to_vector() == std::vector<double>{5, 7});
  x.zero_grad();
  CHECK(!x.has_grad());
  sum(x * 2.0).backward();
  CHECK(x.grad().to_vector() == std::vector<double>{2, 2});
}

TEST_CASE("tape: NoGradGuard records nothing; detach cuts the graph", "[autograd][tape]") {
  auto x = leaf({3}, 131);
  Tape::current().prune();
  const auto before = Tape::current().size();
  {
    NoGradGuard ng;
    const auto y = exp(mul(x, x));
    CHECK(!y.requires_grad());
    CHECK(Tape::current().size() == before);
  }
  const auto d = exp(x).detach();
  CHECK(d.is_leaf());
  CHECK(!d.requires_grad());
  auto y = leaf({3}, 132);
  sum(mul(d, y)).backward();
  CHECK(!x.has_grad());  // nothing flowed through the detached branch
  CHECK(y.grad().to_vector() == d.value().to_vector());
}

TEST_CASE("tape: intermediate gradients are released unless retain_grad()", "[autograd][tape]") {
  auto x = leaf({3}, 133);
  auto h = tanh(x);
  auto k = exp(x);
  k.retain_grad();
  sum(add(h, k)).backward();
  CHECK(!h.has_grad());
  REQUIRE(k.has_grad());
  CHECK(k.grad().to_vector() == std::vector<double>(3, 1.0));
  CHECK(x.has_grad());
}

TEST_CASE("tape: a retained gradient is not propagated again by a later backward()", "[autograd][tape]") {
  auto x = leaf({3}, 134);
  auto k = exp(x);
  k.retain_grad();
  sum(k).backward();  // dx = exp(x)
  auto y = leaf({3}, 135);
  sum(mul(y, y)).backward();  // a second, unrelated graph: must not push k's old gradient into x again
  const auto ex = exp(x).value().to_vector();
  const auto gx = x.grad().to_vector();
  for (std::size_t i = 0; i < ex.size(); ++i) CHECK(gx[i] == Approx(ex[i]).epsilon(1e-12));
  // A second backward through k accumulates like a leaf does: k.grad = 1 + 2, x.grad = exp(x) · (1 + 2)
  sum(mul_scalar(k, 2.0)).backward();
  CHECK(k.grad().to_vector() == std::vector<double>(3, 3.0));
  const auto gx2 = x.grad().to_vector();
  for (std::size_t i = 0; i < ex.size(); ++i) CHECK(gx2[i] == Approx(3 * ex[i]).epsilon(1e-12));
}

TEST_CASE("tape: anomaly mode names the op and its forward call site", "[autograd][tape][anomaly]") {
  auto x = leaf_of({2}, {0, 1});
  {
    AnomalyGuard on;
    const auto y = sum(sqrt(x));  // d√x at 0 is +inf
    CHECK_THROWS_WITH(y.backward(), Contains("sqrt") && Contains("test_tape.cpp") && Contains("non-finite"));
  }
  {
    AnomalyGuard on;
    x.zero_grad();
    const auto y = sum(mul(log(x), x));  // log(0) = −inf: 0·(−inf) is NaN in backward
    CHECK_THROWS_WITH(y.backward(), Contains("test_tape.cpp") && (Contains("'log'") || Contains("'mul'")));
  }
  // Without anomaly mode the same backward completes (with an infinite gradient).
  x.zero_grad();
  sum(sqrt(x)).backward();
  CHECK(std::isinf(x.grad().to_vector()[0]));
}

TEST_CASE("tape: graphs of every op are freed when their outputs are dropped", "[autograd][tape]") {
  auto x = leaf({2, 3, 4}, 134), w = leaf({4}, 135), W = leaf({5, 4}, 136), E = leaf({6, 4}, 137);
  Tape::current().prune();
  const auto before = Tape::current().size();
  {
    const auto ids = Tensor<int32_t>::from({2, 3}, {0, 1, 2, 3, 4, 5});
    auto h = add(x, embedding(E, ids));
    h = rms_norm(h, w, 1e-5);
    h = layer_norm(h, w, w, 1e-5);
    h = rope(reshape(h, {2, 1, 3, 4}));
    h = contiguous(permute(h, {0, 2, 1, 3}));
    h = reshape(h, {2, 3, 4});
    auto parts = split(h, {1, 2}, 1);
    h = concat<double>({parts[1], parts[0]}, 1);
    h = gelu(silu(sigmoid(tanh(relu(elu(clamp(abs(h), -1.0, 1.0)))))));
    h = masked_fill(add_scalar(exp(h), 1.0), Tensor<double>({4}), 0.0);
    h = sqrt(log(h));
    h = softmax(log_softmax(h));
    h = matmul(h, transpose(h, 1, 2));                                  // (2, 3, 3)
    auto z = linear(reshape(h, {6, 3}), slice(W, 1, 0, 3), sum(W, 1));  // (6, 5)
    auto l = add(cross_entropy(z, Tensor<int32_t>::from({6}, {0, 1, 2, 3, 4, 0})),
                 add(mean(max(z, 1)), mean(sum(cross_entropy_per_token(z, Tensor<int32_t>::full({6}, 1)), 0, true))));
    CHECK(Tape::current().size() > before + 30);
    l.backward();
    CHECK(x.has_grad());
    CHECK(E.has_grad());
    CHECK(W.has_grad());
  }
  Tape::current().prune();
  CHECK(Tape::current().size() == before);
}
