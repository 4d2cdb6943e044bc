// rms_norm / layer_norm: forward vs naive rows, gradcheck with and without parameters, non-contiguous, empty, errors.
#include <cmath>

#include "grad_helpers.hpp"

using namespace sinklab;
using namespace sinklab::autograd;
using namespace sinklab::test;
using Catch::Matchers::Contains;

TEST_CASE("norm: forward matches per-row formulas", "[autograd][norm]") {
  const auto x = leaf({3, 5}, 91, -2, 2), w = leaf({5}, 92), b = leaf({5}, 93);
  const double eps = 1e-5;
  const auto rn = values(rms_norm(x, w, eps)), ln = values(layer_norm(x, w, b, eps));
  const auto rn0 = values(rms_norm(x, eps)), ln0 = values(layer_norm(x, eps));
  std::vector<double> rr, lr, rr0, lr0;
  for (int64_t i = 0; i < 3; ++i) {
    double ss = 0, mu = 0, var = 0;
    for (int64_t j = 0; j < 5; ++j) ss += x.value()[{i, j}] * x.value()[{i, j}], mu += x.value()[{i, j}] / 5;
    for (int64_t j = 0; j < 5; ++j) var += (x.value()[{i, j}] - mu) * (x.value()[{i, j}] - mu) / 5;
    for (int64_t j = 0; j < 5; ++j) {
      const double xv = x.value()[{i, j}];
      rr0.push_back(xv / std::sqrt(ss / 5 + eps));
      rr.push_back(rr0.back() * w.value()[{j}]);
      lr0.push_back((xv - mu) / std::sqrt(var + eps));
      lr.push_back(lr0.back() * w.value()[{j}] + b.value()[{j}]);
    }
  }
  check_close(rn, rr, 1e-13, 1e-14, "rms_norm");
  check_close(rn0, rr0, 1e-13, 1e-14, "rms_norm without weight");
  check_close(ln, lr, 1e-13, 1e-14, "layer_norm");
  check_close(ln0, lr0, 1e-13, 1e-14, "layer_norm without parameters");
}

TEST_CASE("norm: gradcheck", "[autograd][norm]") {
  // 70 rows: more than two fixed row blocks, so the blocked weight reduction is exercised.
  const auto x = leaf({2, 35, 6}, 94, -2, 2), w = leaf({6}, 95, 0.5, 1.5), b = leaf({6}, 96);
  SINKLAB_CHECK_GRAD([](const auto& v) { return rms_norm(v[0], v[1], 1e-5); }, x, w);
  SINKLAB_CHECK_GRAD([](const auto& v) { return rms_norm(v[0], 1e-5); }, x);
  SINKLAB_CHECK_GRAD([](const auto& v) { return layer_norm(v[0], v[1], v[2], 1e-5); }, x, w, b);
  SINKLAB_CHECK_GRAD([](const auto& v) { return layer_norm(v[0], 1e-5); }, x);
  // Non-contiguous input, and a size-1 normalised axis (x̂ = 0, gradient through eps only).
  SINKLAB_CHECK_GRAD([](const auto& v) { return rms_norm(transpose(v[0], 0, 1), v[1], 1e-5); }, leaf({6, 4}, 97),
                     leaf({6}, 98));
  SINKLAB_CHECK_GRAD([](const auto& v) { return layer_norm(v[0], v[1], v[2], 1e-3); }, leaf({3, 1}, 99), leaf({1}, 100),
                     leaf({1}, 101));
}

TEST_CASE("norm: empty tensors and errors", "[autograd][norm][empty][errors]") {
  check_empty_backward([](const auto& v) { return rms_norm(v[0], v[1], 1e-5); }, {{0, 4}, {4}}, {0, 4});
  check_empty_backward([](const auto& v) { return layer_norm(v[0], v[1], v[2], 1e-5); }, {{2, 0, 4}, {4}, {4}},
                       {2, 0, 4});
  const auto x = leaf({2, 4}, 102);
  CHECK_THROWS_WITH(rms_norm(x, leaf({5}, 103), 1e-5), Contains("(5,)") && Contains("(2, 4)"));
  CHECK_THROWS_WITH(layer_norm(x, leaf({4}, 104), leaf({3}, 105), 1e-5), Contains("bias") && Contains("(3,)"));
}
