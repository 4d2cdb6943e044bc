#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <vector>

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

// The float path is the CUDA kernel's formula (backend/functors/adamw.hpp) vectorised over chunks: it must agree with
// that functor element by element, with decay, over several steps and a size that is not a chunk multiple, and give
// the same bits for 1 and 2 threads.
TEST_CASE("adamw<float>: the shared fp32 functor's update, independent of the thread count", "[optim]") {
  const int64_t n = (int64_t(1) << 15) + 37;  // above kParallelGrain, two chunks plus a tail
  auto run = [&](int threads) {
    set_num_threads(threads);
    autograd::Var<float> w(Tensor<float>::randn({n}, 3), true, "w");
    nn::ParamList<float> params{{"w", w, true}};
    optim::AdamW<float> opt(params, {0.9, 0.95, 1e-8, 0.1, false});
    for (int s = 0; s < 3; ++s) {
      w.mutable_grad() = Tensor<float>::randn({n}, 10 + s);
      opt.step(1e-2);
    }
    set_num_threads(0);
    return w.value().to_vector();
  };
  const auto one = run(1), two = run(2);
  CHECK(one == two);

  std::vector<float> ref = Tensor<float>::randn({n}, 3).to_vector(), m(n, 0.f), v(n, 0.f);
  for (int s = 1; s <= 3; ++s) {
    const auto g = Tensor<float>::randn({n}, 10 + s - 1).to_vector();
    const backend::functors::AdamWStep f{1e-2f, 0.9f, 0.95f, 1e-8f, float(1 - std::pow(0.9, s)),
                                         float(1 - std::pow(0.95, s))};
    for (int64_t k = 0; k < n; ++k) f(ref[k], m[k], v[k], g[k], 0.1f);
  }
  double worst = 0;
  for (int64_t k = 0; k < n; ++k)  // relative to |w| + lr (the step size): w near 0 differs by its rounding only
    worst = std::max(worst, double(std::abs(one[k] - ref[k]) / (std::abs(ref[k]) + 1e-2)));
  INFO("worst relative difference from the functor " << worst);
  CHECK(worst < 1e-6);  // same operations; only FMA contraction may differ
}

TEST_CASE("clip: the global norm is threaded yet the same bits for 1 and 2 threads", "[optim]") {
  autograd::Var<float> a(Tensor<float>::zeros({3 << 17}), true, "a"), b(Tensor<float>::zeros({1000}), true, "b");
  a.mutable_grad() = Tensor<float>::randn({3 << 17}, 5);
  b.mutable_grad() = Tensor<float>::randn({1000}, 6);
  nn::ParamList<float> params{{"a", a, true}, {"b", b, false}};
  set_num_threads(1);
  const double n1 = optim::global_grad_norm(params);
  set_num_threads(2);
  const double n2 = optim::global_grad_norm(params);
  set_num_threads(0);
  CHECK(n1 == n2);
  double sq = 0;
  for (float x : a.grad().to_vector()) sq += double(x) * x;
  for (float x : b.grad().to_vector()) sq += double(x) * x;
  CHECK(n1 == Approx(std::sqrt(sq)).epsilon(1e-12));
}
