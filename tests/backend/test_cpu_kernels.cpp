// CPU kernels against naive loops: batched/shared GEMM, broadcast_to vs sum_to adjointness, softmax along a middle
// axis, the fused norm / cross-entropy backward in float vs double.
#include <catch2/catch.hpp>
#include <cmath>

#include "sinklab/backend/cpu/broadcast.hpp"
#include "sinklab/backend/cpu/cross_entropy.hpp"
#include "sinklab/backend/cpu/gemm.hpp"
#include "sinklab/backend/cpu/norm.hpp"
#include "sinklab/backend/cpu/softmax.hpp"
#include "support/check_close.hpp"

using namespace sinklab;
namespace cpu = sinklab::backend::cpu;

TEST_CASE("gemm: batched with a shared 2-D b matches per-batch loops", "[backend][gemm]") {
  const auto a = Tensor<float>::randn({3, 17, 33}, 1), b = Tensor<float>::randn({29, 33}, 2);
  const auto c = cpu::matmul(a, b, false, true);  // (3, 17, 29)
  REQUIRE(c.shape() == Shape{3, 17, 29});
  std::vector<double> ref;
  for (int64_t z = 0; z < 3; ++z)
    for (int64_t i = 0; i < 17; ++i)
      for (int64_t j = 0; j < 29; ++j) {
        double s = 0;
        for (int64_t k = 0; k < 33; ++k) s += double(a[{z, i, k}]) * b[{j, k}];
        ref.push_back(s);
      }
  test::check_close(c.to_vector(), ref, 1e-4, 1e-4, "matmul");
}

TEST_CASE("broadcast_to is the adjoint of sum_to", "[backend][broadcast]") {
  // <broadcast_to(u), v> = <u, sum_to(v)> for u of shape (3, 1) and v of shape (2, 3, 4).
  const auto u = Tensor<double>::randn({3, 1}, 3), v = Tensor<double>::randn({2, 3, 4}, 4);
  const auto bu = cpu::broadcast_to(u, v.shape()), sv = cpu::sum_to(v, u.shape());
  double l = 0, r = 0;
  for (int64_t i = 0; i < v.numel(); ++i) l += bu.data()[i] * v.data()[i];
  for (int64_t i = 0; i < u.numel(); ++i) r += u.data()[i] * sv.data()[i];
  CHECK(l == Approx(r).epsilon(1e-12));
}

TEST_CASE("softmax along a middle axis sums to one per line", "[backend][softmax]") {
  const auto x = Tensor<double>::randn({2, 5, 3}, 5, 4.0);
  const auto y = cpu::softmax_forward(x, 1, false);
  for (int64_t o = 0; o < 2; ++o)
    for (int64_t i = 0; i < 3; ++i) {
      double s = 0;
      for (int64_t k = 0; k < 5; ++k) s += y[{o, k, i}];
      CHECK(s == Approx(1.0).epsilon(1e-14));
    }
}

TEST_CASE("fused norm and cross-entropy kernels agree in float and double", "[backend][norm][xent]") {
  const auto xd = Tensor<double>::randn({40, 64}, 6), gd = Tensor<double>::randn({40, 64}, 7);
  const auto xf = xd.cast<float>(), gf = gd.cast<float>();
  const auto fd = cpu::rms_norm_forward(xd, static_cast<const double*>(nullptr), 1e-5);
  const auto ff = cpu::rms_norm_forward(xf, static_cast<const float*>(nullptr), 1e-5f);
  test::check_close(ff.y.to_vector(), fd.y.to_vector(), 1e-5, 1e-5, "rms_norm y");
  const auto bd = cpu::rms_norm_backward(xd, static_cast<const double*>(nullptr), fd.rstd, gd, false);
  const auto bf = cpu::rms_norm_backward(xf, static_cast<const float*>(nullptr), ff.rstd, gf, false);
  test::check_close(bf.dx.to_vector(), bd.dx.to_vector(), 1e-4, 1e-5, "rms_norm dx");
  Tensor<int32_t> t({40});
  for (int64_t i = 0; i < 40; ++i) t.data()[i] = static_cast<int32_t>(i % 64);
  const auto cd = cpu::cross_entropy_forward(xd, t, -100);
  const auto cf = cpu::cross_entropy_forward(xf, t, -100);
  test::check_close(cf.loss.to_vector(), cd.loss.to_vector(), 1e-5, 1e-5, "cross_entropy loss");
}
