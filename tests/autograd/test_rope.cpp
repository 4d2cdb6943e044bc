// rope: forward vs the explicit cos/sin formula for both layouts (with a position offset), the inverse property,
// relative-position invariance of q·k, gradcheck, errors.
#include <cmath>

#include "grad_helpers.hpp"

using namespace sinklab;
using namespace sinklab::autograd;
using namespace sinklab::test;
using Catch::Matchers::Contains;

namespace {
// Explicit reference: pair (i, j) of position p rotated by p·base^(−2k/D).
std::vector<double> rope_ref(const Tensor<double>& x, double base, RopeLayout layout, int64_t offset) {
  const int64_t B = x.size(0), H = x.size(1), S = x.size(2), D = x.size(3);
  Tensor<double> y = x.clone();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t s = 0; s < S; ++s)
        for (int64_t k = 0; k < D / 2; ++k) {
          const int64_t i = layout == RopeLayout::RotateHalf ? k : 2 * k;
          const int64_t j = layout == RopeLayout::RotateHalf ? k + D / 2 : 2 * k + 1;
          const double th = static_cast<double>(s + offset) / std::pow(base, 2.0 * k / D);
          const double a = x[{b, h, s, i}], c = x[{b, h, s, j}];
          y[{b, h, s, i}] = a * std::cos(th) - c * std::sin(th);
          y[{b, h, s, j}] = a * std::sin(th) + c * std::cos(th);
        }
  return y.to_vector();
}
}  // namespace

TEST_CASE("rope: forward matches the explicit formula for both layouts", "[autograd][rope]") {
  const auto x = leaf({2, 2, 5, 8}, 111);
  for (auto layout : {RopeLayout::RotateHalf, RopeLayout::Interleaved})
    for (int64_t offset : {0, 7}) {
      INFO("layout " << static_cast<int>(layout) << " offset " << offset);
      check_close(values(rope(x, 10000.0, layout, offset)), rope_ref(x.value(), 10000.0, layout, offset), 1e-13, 1e-14,
                  "rope");
    }
  check_close(values(rope(x, 500.0)), rope_ref(x.value(), 500.0, RopeLayout::RotateHalf, 0), 1e-13, 1e-14, "base 500");
}

TEST_CASE("rope: inverse rotation restores the input; q·k depends on relative position", "[autograd][rope]") {
  const auto x = leaf({1, 2, 6, 8}, 112);
  for (auto layout : {RopeLayout::RotateHalf, RopeLayout::Interleaved}) {
    const auto tab = rope_table<double>(6, 8, 10000.0, 3);
    const auto back =
        backend::cpu::rope_apply(backend::cpu::rope_apply(x.value(), tab, layout, false), tab, layout, true);
    check_close(back.to_vector(), x.value().to_vector(), 1e-14, 1e-14, "inverse");
    // Same vectors q, k placed at positions (m, n) and (m + 5, n + 5): identical dot product.
    auto q = Tensor<double>::randn({1, 1, 1, 8}, 113), k = Tensor<double>::randn({1, 1, 1, 8}, 114);
    auto dot_at = [&](int64_t m, int64_t n) {
      const auto rq = rope(VarD(q), 10000.0, layout, m).value(), rk = rope(VarD(k), 10000.0, layout, n).value();
      double s = 0;
      for (int64_t d = 0; d < 8; ++d) s += rq.data()[d] * rk.data()[d];
      return s;
    };
    CHECK(dot_at(2, 9) == Approx(dot_at(7, 14)).epsilon(1e-12));
  }
}

TEST_CASE("rope: gradcheck", "[autograd][rope]") {
  for (auto layout : {RopeLayout::RotateHalf, RopeLayout::Interleaved}) {
    INFO("layout " << static_cast<int>(layout));
    SINKLAB_CHECK_GRAD([=](const auto& v) { return rope(v[0], 100.0, layout, 2); }, leaf({2, 1, 3, 4}, 115));
    // Non-contiguous (B, S, H, D) → (B, H, S, D) view, as attention produces it.
    SINKLAB_CHECK_GRAD(
        [=](const auto& v) {
          return rope(permute(v[0], {0, 2, 1, 3}), 10000.0, layout);
        },
        leaf({1, 3, 2, 6}, 116));
  }
}

TEST_CASE("rope: empty tensors and errors", "[autograd][rope][empty][errors]") {
  check_empty_backward([](const auto& v) { return rope(v[0]); }, {{0, 2, 3, 4}}, {0, 2, 3, 4});
  check_empty_backward([](const auto& v) { return rope(v[0]); }, {{1, 2, 0, 4}}, {1, 2, 0, 4});
  CHECK_THROWS_WITH(rope(leaf({1, 1, 2, 5}, 117)), Contains("must be even") && Contains("(1, 1, 2, 5)"));
}
