// softmax / log_softmax: forward vs the definition, stability at large logits, gradcheck over axes, empty.
#include <cmath>

#include "grad_helpers.hpp"

using namespace sinklab;
using namespace sinklab::autograd;
using namespace sinklab::test;

TEST_CASE("softmax: forward matches the definition and is stable", "[autograd][softmax]") {
  const auto x = leaf_of({2, 3}, {1, 2, 3, 1000, 1001, 1002});
  const auto y = values(softmax(x)), ly = values(log_softmax(x));
  const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  const std::vector<double> row{std::exp(1.0) / z, std::exp(2.0) / z, std::exp(3.0) / z};
  for (int r = 0; r < 2; ++r)
    for (int j = 0; j < 3; ++j) {
      CHECK(y[r * 3 + j] == Approx(row[j]).epsilon(1e-14));
      CHECK(ly[r * 3 + j] == Approx(std::log(row[j])).margin(1e-12));
    }
  // A masked (−inf) entry gets probability 0 and the row still sums to 1.
  const auto m = values(softmax(VarD(Tensor<double>::from({3}, {0, -INFINITY, 0}))));
  CHECK(m == std::vector<double>{0.5, 0, 0.5});
}

TEST_CASE("softmax: gradcheck over every axis", "[autograd][softmax]") {
  const auto x = leaf({2, 3, 4}, 71, -2, 2);
  for (int axis : {0, 1, 2, -1}) {
    INFO("axis " << axis);
    SINKLAB_CHECK_GRAD([=](const auto& v) { return softmax(v[0], axis); }, x);
    SINKLAB_CHECK_GRAD([=](const auto& v) { return log_softmax(v[0], axis); }, x);
  }
  SINKLAB_CHECK_GRAD([](const auto& v) { return softmax(permute(v[0], {2, 0, 1})); }, x);    // non-contiguous
  SINKLAB_CHECK_GRAD([](const auto& v) { return log_softmax(v[0], 1); }, leaf({3, 1}, 72));  // size-1 axis
}

TEST_CASE("softmax: empty tensors", "[autograd][softmax][empty]") {
  check_empty_backward([](const auto& v) { return softmax(v[0]); }, {{0, 4}}, {0, 4});
  check_empty_backward([](const auto& v) { return log_softmax(v[0], 0); }, {{0, 4}}, {0, 4});
  check_empty_backward([](const auto& v) { return softmax(v[0]); }, {{3, 0}}, {3, 0});
}
