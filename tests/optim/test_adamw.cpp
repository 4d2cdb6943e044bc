#include <catch2/catch.hpp>
#include <cmath>

#include "sinklab/optim.hpp"

using namespace sinklab;

// Two steps of AdamW written out by hand (torch.optim.AdamW's update) for one parameter.
TEST_CASE("adamw: matches the hand-written update, decoupled decay", "[optim]") {
  autograd::Var<double> w(Tensor<double>::from({2}, {1.0, -2.0}), true, "w");
  nn::ParamList<double> params{{"w", w, true}};
  optim::AdamWConfig cfg{0.9, 0.95, 1e-8, 0.1, false};
  optim::AdamW<double> opt(params, cfg);
  const double lr = 0.01;
  double ref[2] = {1.0, -2.0}, m[2] = {0, 0}, v[2] = {0, 0};
  const double grads[2][2] = {{0.5, -1.0}, {0.25, 2.0}};
  for (int step = 1; step <= 2; ++step) {
    w.mutable_grad() = Tensor<double>::from({2}, {grads[step - 1][0], grads[step - 1][1]});
    opt.step(lr);
    for (int i = 0; i < 2; ++i) {
      const double g = grads[step - 1][i];
      ref[i] *= 1 - lr * 0.1;
      m[i] = 0.9 * m[i] + 0.1 * g;
      v[i] = 0.95 * v[i] + 0.05 * g * g;
      const double mh = m[i] / (1 - std::pow(0.9, step)), vh = v[i] / (1 - std::pow(0.95, step));
      ref[i] -= lr * mh / (std::sqrt(vh) + 1e-8);
    }
  }
  CHECK(w.value().data()[0] == Approx(ref[0]).epsilon(1e-14));
  CHECK(w.value().data()[1] == Approx(ref[1]).epsilon(1e-14));
  CHECK(opt.step_count() == 2);
}

TEST_CASE("adamw: matrices-only decay skips vectors; params without grad are untouched", "[optim]") {
  autograd::Var<double> mat(Tensor<double>::ones({2, 2}), true), vec(Tensor<double>::ones({2}), true),
      unused(Tensor<double>::ones({2}), true);
  nn::ParamList<double> params{{"mat", mat, true}, {"vec", vec, false}, {"unused", unused, false}};
  optim::AdamW<double> opt(params, {0.9, 0.95, 1e-8, 0.5, true});
  mat.mutable_grad() = Tensor<double>::zeros({2, 2});
  vec.mutable_grad() = Tensor<double>::zeros({2});
  opt.step(0.1);
  CHECK(mat.value().data()[0] == Approx(1.0 - 0.1 * 0.5));  // decayed (zero gradient: only decay moves it)
  CHECK(vec.value().data()[0] == 1.0);                        // not decayed
  CHECK(unused.value().data()[0] == 1.0);
}

TEST_CASE("clip: global norm over all parameters", "[optim]") {
  autograd::Var<double> a(Tensor<double>::zeros({2}), true), b(Tensor<double>::zeros({1}), true);
  a.mutable_grad() = Tensor<double>::from({2}, {3.0, 0.0});
  b.mutable_grad() = Tensor<double>::from({1}, {4.0});
  nn::ParamList<double> params{{"a", a, false}, {"b", b, false}};
  CHECK(optim::clip_grad_norm(params, 1.0) == Approx(5.0));
  CHECK(optim::global_grad_norm(params) == Approx(1.0).epsilon(1e-5));
  CHECK(a.grad().data()[0] == Approx(0.6).epsilon(1e-5));
  CHECK(optim::clip_grad_norm(params, 10.0) == Approx(1.0).epsilon(1e-5));  // below the limit: unchanged
}
