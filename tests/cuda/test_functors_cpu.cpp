// CPU checks of the math the CUDA kernels run (backend/functors), against plain double formulas and, for the ops
// the CPU autograd also has, against the CPU autograd op's forward and backward on the same inputs. Compiled with
// g++ only. The backend's host-side logic has its own files: test_caching_pool_cpu.cpp (allocator bookkeeping),
// test_gemm_plan_cpu.cpp (row-major → cuBLASLt plan, cache key, alignments), test_online_softmax_cpu.cpp.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "sinklab/autograd.hpp"
#include "sinklab/backend/cpu/argmax.hpp"
#include "sinklab/backend/functors/all.hpp"
#include "sinklab/core/rng.hpp"
#include "support/check_close.hpp"

using namespace sinklab;
using namespace sinklab::backend::functors;

namespace {
std::vector<double> randv(int n, uint64_t seed, double scale = 1.0) {
  std::vector<double> v(n);
  for (int i = 0; i < n; ++i) v[i] = scale * Philox::normal(seed, 0, i);
  return v;
}
template <class F>
double numdiff(F f, double x, double h = 1e-3) {
  return (f(x + h) - f(x - h)) / (2 * h);
}
}  // namespace

TEST_CASE("unary functors match double formulas and their derivatives", "[cuda][functors]") {
  for (double x : {-3.0, -0.7, 0.3, 1.9}) {
    CHECK(Exp{}(float(x)) == Approx(std::exp(x)).epsilon(1e-6));
    CHECK(Sigmoid{}(float(x)) == Approx(1 / (1 + std::exp(-x))).epsilon(1e-6));
    CHECK(Silu{}(float(x)) == Approx(x / (1 + std::exp(-x))).epsilon(1e-6));
    CHECK(Tanh{}(float(x)) == Approx(std::tanh(x)).epsilon(1e-6));
    const double g = 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
    CHECK(GeluTanh{}(float(x)) == Approx(g).epsilon(1e-5).margin(1e-6));  // 1 + tanh cancels in float on the tail
    auto check_grad = [&](auto f) {
      const float y = f(float(x));
      const double want = numdiff([&](double t) { return double(f(float(t))); }, x);
      CHECK(f.grad(float(x), y, 1.0f) == Approx(want).epsilon(2e-3).margin(1e-4));
    };
    check_grad(Exp{});
    check_grad(Sigmoid{});
    check_grad(Tanh{});
    check_grad(Silu{});
    check_grad(GeluTanh{});
    check_grad(Square{});
    check_grad(Neg{});
    if (x > 0) {
      check_grad(Log{});
      check_grad(Sqrt{});
    }
  }
  CHECK(Sigmoid{}(-100.0f) >= 0.0f);  // no overflow on the negative tail
  CHECK(Sigmoid{}(100.0f) == 1.0f);
}

TEST_CASE("binary functor gradients", "[cuda][functors]") {
  const float a = 1.7f, b = -0.6f;
  CHECK(Div{}.grad_b(a, b, 1.0f) == Approx(-a / (b * b)));
  CHECK(Div{}.grad_a(a, b, 2.0f) == Approx(2.0 / b));
  CHECK(Mul{}.grad_a(a, b, 3.0f) == Approx(3.0 * b));
  CHECK(Sub{}.grad_b(a, b, 1.0f) == -1.0f);
  CHECK(Max{}.grad_a(a, b, 1.0f) == 1.0f);
  CHECK(Max{}.grad_b(a, b, 1.0f) == 0.0f);
}

TEST_CASE("broadcast indexer maps output indices to input offsets", "[cuda][functors]") {
  const Shape out{2, 3, 4};
  const Shape a_shape{3, 1}, a_strides{1, 1};         // broadcast over axes 0 and 2
  const Shape b_shape{2, 3, 4}, b_strides{1, 2, 6};   // a permuted (non-contiguous) layout
  const Shape* shapes[2] = {&a_shape, &b_shape};
  const Shape* strides[2] = {&a_strides, &b_strides};
  const auto ix = make_indexer<2>(out, shapes, strides);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) {
        int64_t off[2];
        ix.offsets((i * 3 + j) * 4 + k, off);
        CHECK(off[0] == j);
        CHECK(off[1] == i + 2 * j + 6 * k);
      }
  const Shape bad{5};
  const Shape bad_st{1};
  const Shape* s2[1] = {&bad};
  const Shape* t2[1] = {&bad_st};
  CHECK_THROWS_AS(make_indexer<1>(out, s2, t2), Error);
}

TEST_CASE("online logsumexp merges in any order; softmax/CE gradients", "[cuda][functors]") {
  const auto x = randv(37, 7, 4.0);
  double mx = -1e300;
  for (double v : x) mx = std::max(mx, v);
  double s = 0;
  for (double v : x) s += std::exp(v - mx);
  const double lse = mx + std::log(s);

  OnlineLse seq;
  for (double v : x) seq.push(float(v));
  CHECK(seq.lse() == Approx(lse).epsilon(1e-6));
  OnlineLse parts[3];  // strided split, then merged in a different order
  for (std::size_t i = 0; i < x.size(); ++i) parts[i % 3].push(float(x[i]));
  const OnlineLse merged = OnlineLse::merge(parts[2], OnlineLse::merge(parts[0], parts[1]));
  CHECK(merged.lse() == Approx(lse).epsilon(1e-6));
  CHECK(OnlineLse::merge(OnlineLse{}, seq).lse() == Approx(lse).epsilon(1e-6));

  // Cross-entropy: loss = lse − x_t; dx = softmax − onehot (scale 1); Σ dx = 0.
  const int t = 5;
  CHECK(cross_entropy_loss(float(lse), float(x[t])) == Approx(lse - x[t]).epsilon(1e-6));
  double sum = 0;
  for (int j = 0; j < 37; ++j) {
    const double want = std::exp(x[j] - lse) - (j == t);
    const float got = cross_entropy_grad(float(x[j]), float(lse), j == t, 1.0f);
    CHECK(got == Approx(want).margin(1e-6));
    sum += got;
  }
  CHECK(sum == Approx(0.0).margin(1e-5));

  // softmax backward vs the Jacobian-vector product in double.
  const auto dy = randv(37, 8);
  std::vector<double> y(37);
  double dot = 0;
  for (int j = 0; j < 37; ++j) y[j] = std::exp(x[j] - lse), dot += y[j] * dy[j];
  for (int i = 0; i < 37; ++i) {
    double want = 0;
    for (int j = 0; j < 37; ++j) want += (i == j ? y[i] * (1 - y[i]) : -y[i] * y[j]) * dy[j];
    CHECK(softmax_grad(float(y[i]), float(dy[i]), float(dot)) == Approx(want).margin(1e-6));
  }
  double sdy = 0;
  for (double v : dy) sdy += v;
  for (int i = 0; i < 37; ++i) {
    const double want = dy[i] - y[i] * sdy;  // Σ_j dy_j (δij − y_i)
    CHECK(log_softmax_grad(float(std::log(y[i])), float(dy[i]), float(sdy)) == Approx(want).margin(1e-5));
  }
}

TEST_CASE("RMSNorm and LayerNorm row math vs finite differences in double", "[cuda][functors]") {
  const int n = 16;
  const auto x = randv(n, 11), w = randv(n, 12), bias = randv(n, 13), dy = randv(n, 14);
  const double eps = 1e-5;
  auto rms_y = [&](const std::vector<double>& xv) {
    double ss = 0;
    for (double v : xv) ss += v * v;
    const double r = 1 / std::sqrt(ss / n + eps);
    std::vector<double> y(n);
    for (int i = 0; i < n; ++i) y[i] = xv[i] * r * w[i];
    return y;
  };
  auto ln_y = [&](const std::vector<double>& xv) {
    double mu = 0, var = 0;
    for (double v : xv) mu += v;
    mu /= n;
    for (double v : xv) var += (v - mu) * (v - mu);
    var /= n;
    std::vector<double> y(n);
    for (int i = 0; i < n; ++i) y[i] = (xv[i] - mu) / std::sqrt(var + eps) * w[i] + bias[i];
    return y;
  };
  auto loss_grad = [&](auto f, int i) {  // d(Σ dy·y)/dx_i
    auto xp = x, xm = x;
    const double h = 1e-6;
    xp[i] += h, xm[i] -= h;
    const auto yp = f(xp), ym = f(xm);
    double d = 0;
    for (int j = 0; j < n; ++j) d += dy[j] * (yp[j] - ym[j]);
    return d / (2 * h);
  };
  // RMSNorm
  float ss = 0, dot = 0;
  for (int i = 0; i < n; ++i) ss += float(x[i] * x[i]);
  const float r = rms_inv(ss, n, float(eps));
  for (int i = 0; i < n; ++i) dot += float(w[i] * dy[i] * x[i]);
  const auto ry = rms_y(x);
  for (int i = 0; i < n; ++i) {
    CHECK(rms_norm_fwd(float(x[i]), float(w[i]), r) == Approx(ry[i]).epsilon(1e-5).margin(1e-6));
    CHECK(rms_norm_dx(float(x[i]), float(w[i]), float(dy[i]), r, dot, n) == Approx(loss_grad(rms_y, i)).epsilon(1e-4).margin(1e-5));
  }
  // LayerNorm with Welford stats (pushed in two halves and merged)
  Welford a, b;
  for (int i = 0; i < n; ++i) (i < 5 ? a : b).push(float(x[i]));
  const Welford st = Welford::merge(a, b);
  const float rl = 1.0f / std::sqrt(st.var() + float(eps));
  float sg = 0, sgx = 0;
  for (int i = 0; i < n; ++i) {
    const float g = float(w[i] * dy[i]);
    sg += g;
    sgx += g * (float(x[i]) - st.mean) * rl;
  }
  const auto ly = ln_y(x);
  for (int i = 0; i < n; ++i) {
    CHECK(layer_norm_fwd(float(x[i]), float(w[i]), float(bias[i]), st.mean, rl) == Approx(ly[i]).epsilon(1e-5).margin(1e-5));
    const float xhat = (float(x[i]) - st.mean) * rl;
    CHECK(layer_norm_dx(xhat, float(w[i] * dy[i]), rl, sg, sgx, n) == Approx(loss_grad(ln_y, i)).epsilon(1e-4).margin(1e-4));
  }
}

TEST_CASE("RoPE pairs, rotation and its inverse", "[cuda][functors]") {
  const int dim = 8, pos = 5;
  const float base = 10000.0f;
  const auto x = randv(dim, 21);
  for (auto layout : {RopeLayout::RotateHalf, RopeLayout::Interleaved}) {
    std::vector<float> y(x.begin(), x.end());
    for (int p = 0; p < dim / 2; ++p) {
      const RopePair pr = rope_pair(layout, p, dim);
      if (layout == RopeLayout::RotateHalf) CHECK((pr.i == p && pr.j == p + dim / 2));
      else CHECK((pr.i == 2 * p && pr.j == 2 * p + 1));
      const float ang = rope_angle(pos, pr.k, dim, base);
      CHECK(ang == Approx(pos * std::pow(10000.0, -2.0 * p / dim)).epsilon(1e-5));
      const double c = std::cos(double(ang)), s = std::sin(double(ang));
      float a = y[pr.i], b = y[pr.j];
      rope_rotate(a, b, float(c), float(s), false);
      CHECK(a == Approx(x[pr.i] * c - x[pr.j] * s).margin(1e-6));
      CHECK(b == Approx(x[pr.i] * s + x[pr.j] * c).margin(1e-6));
      rope_rotate(a, b, float(c), float(s), true);  // the backward undoes the forward (orthogonal)
      CHECK(a == Approx(x[pr.i]).margin(1e-6));
      CHECK(b == Approx(x[pr.j]).margin(1e-6));
    }
  }
}

TEST_CASE("SwiGLU forward/backward vs double", "[cuda][functors]") {
  for (double g : {-2.5, -0.3, 0.0, 1.4}) {
    for (double u : {-1.1, 0.8}) {
      const double sg = 1 / (1 + std::exp(-g));
      CHECK(swiglu_fwd(float(g), float(u)) == Approx(g * sg * u).margin(1e-6));
      float dg, du;
      swiglu_bwd(float(g), float(u), 0.7f, dg, du);
      CHECK(dg == Approx(0.7 * u * (sg + g * sg * (1 - sg))).margin(1e-6));
      CHECK(du == Approx(0.7 * g * sg).margin(1e-6));
    }
  }
}

TEST_CASE("AdamW step matches the optimiser's double formula", "[cuda][functors]") {
  const double lr = 1e-3, b1 = 0.9, b2 = 0.95, eps = 1e-8, wd = 0.1;
  double w = 0.5, m = 0, v = 0;
  float wf = 0.5f, mf = 0, vf = 0;
  const auto g = randv(5, 31);
  for (int t = 1; t <= 5; ++t) {
    const double bc1 = 1 - std::pow(b1, t), bc2 = 1 - std::pow(b2, t);
    m = b1 * m + (1 - b1) * g[t - 1];
    v = b2 * v + (1 - b2) * g[t - 1] * g[t - 1];
    w = w * (1 - lr * wd) - lr * (m / bc1) / (std::sqrt(v / bc2) + eps);
    AdamWStep{float(lr), float(b1), float(b2), float(eps), float(bc1), float(bc2)}(wf, mf, vf, float(g[t - 1]), float(wd));
    CHECK(wf == Approx(w).epsilon(1e-6));
    CHECK(mf == Approx(m).epsilon(1e-5));
  }
}

// --- functors vs the CPU autograd ops (forward and backward on the same fp32 inputs) ------------------------------
// Each block runs the functor the way its kernel does (per element, fp32; through the same indexer or plan) and
// compares with the CPU op in include/sinklab/autograd/ops.

namespace {
using autograd::Var;

// check_close, except that equal values (so equal infinities, which check_close's |a − b| turns into NaN) match.
void check_match(std::vector<float> got, std::vector<float> want, double rtol, double atol, const std::string& what) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i)
    if (got[i] == want[i]) got[i] = want[i] = 0.0f;
  test::check_close(got, want, rtol, atol, what);
}

// Forward value and input gradient of a one-input CPU autograd op on x with upstream gradient g.
template <class Op>
std::pair<std::vector<float>, std::vector<float>> cpu_fwd_bwd(Op op, const Tensor<float>& x, const Tensor<float>& g) {
  Var<float> v(x, true);
  const Var<float> y = op(v);
  y.backward(g);
  return {y.value().contiguous().to_vector(), v.grad().contiguous().to_vector()};
}

// Inputs with the points where these ops have kinks, tails or special cases, then normal samples.
std::vector<float> unary_inputs() {
  std::vector<float> x{0.0f, -0.0f, 1.0f, -1.0f, 1e-4f, -1e-4f, -0.5f, 0.8f, 2.0f, -3.0f, 5.5f, -5.5f, 20.0f, -20.0f};
  for (int i = 0; i < 50; ++i) x.push_back(float(2.5 * Philox::normal(51, 0, i)));
  return x;
}

// unary_kernel / unary_bwd_kernel on the host: y = f(x), dx = f.grad(x, y, dy); or with y = 0 for the ScalarOp
// functors, whose backward launcher passes no y (GradNoY).
template <class F, class Op>
void check_unary_vs_cpu(F f, Op op, const std::vector<float>& xs, const std::string& what, bool pass_y = true,
                        double tol = 1e-6) {
  const int64_t n = static_cast<int64_t>(xs.size());
  const auto x = Tensor<float>::from({n}, xs);
  const auto g = Tensor<float>::randn({n}, 52);
  const auto [y_cpu, dx_cpu] = cpu_fwd_bwd(op, x, g);
  std::vector<float> y(n), dx(n);
  for (int64_t i = 0; i < n; ++i) {
    y[i] = f(xs[i]);
    dx[i] = f.grad(xs[i], pass_y ? y[i] : 0.0f, g.data()[i]);
  }
  check_match(y, y_cpu, tol, 1e-7, what + " forward");
  check_match(dx, dx_cpu, tol, 1e-7, what + " backward");
}
}  // namespace

TEST_CASE("Gelu (erf) and Abs functors match the CPU autograd gelu / abs", "[cuda][functors][autograd]") {
  const auto xs = unary_inputs();
  check_unary_vs_cpu(Gelu{}, [](const Var<float>& v) { return autograd::gelu(v); }, xs, "gelu");
  check_unary_vs_cpu(Abs{}, [](const Var<float>& v) { return autograd::abs(v); }, xs, "abs");
  // The CPU gelu is the erf form, not the tanh approximation CUDA already had: the two differ beyond the tolerance.
  CHECK(std::abs(Gelu{}(-3.0f) - GeluTanh{}(-3.0f)) > 1e-4f);
  CHECK(Abs{}.grad(0.0f, 0.0f, 2.0f) == 0.0f);
  CHECK(Abs{}.grad(-0.5f, 0.5f, 2.0f) == -2.0f);
}

TEST_CASE("ScalarOp functors (elu, clamp, pow, add/mul scalar) match the CPU autograd ops", "[cuda][functors][autograd]") {
  const auto xs = unary_inputs();
  for (float alpha : {1.0f, 0.7f}) {
    // Elu's backward is αeˣ from x (the CPU writes y + α); in fp32 they agree to rounding (at x = −20, y + α is
    // exactly 0 in float while αeˣ = 2e-9: inside atol).
    check_unary_vs_cpu(Elu{alpha}, [alpha](const Var<float>& v) { return autograd::elu(v, alpha); }, xs,
                       "elu alpha " + std::to_string(alpha), false);
  }
  // Clamp: the boundaries −0.5 and 0.8 are in the inputs, so the closed-interval rule is what is compared.
  check_unary_vs_cpu(Clamp{-0.5f, 0.8f}, [](const Var<float>& v) { return autograd::clamp(v, -0.5f, 0.8f); }, xs,
                     "clamp", false);
  CHECK(Clamp{-0.5f, 0.8f}.grad(-0.5f, 0.0f, 3.0f) == 3.0f);
  CHECK(Clamp{-0.5f, 0.8f}.grad(0.8f, 0.0f, 3.0f) == 3.0f);
  CHECK(Clamp{-0.5f, 0.8f}.grad(0.80001f, 0.0f, 3.0f) == 0.0f);
  CHECK(Clamp{-0.5f, 0.8f}.grad(NAN, 0.0f, 3.0f) == 0.0f);
  CHECK(std::isnan(Clamp{-0.5f, 0.8f}(NAN)));
  check_unary_vs_cpu(Clamp{0.25f, 0.25f}, [](const Var<float>& v) { return autograd::clamp(v, 0.25f, 0.25f); }, xs,
                     "clamp lo = hi", false);
  for (float p : {2.0f, 3.0f, 1.0f, -1.0f}) {
    check_unary_vs_cpu(Pow{p}, [p](const Var<float>& v) { return autograd::pow(v, p); }, xs,
                       "pow " + std::to_string(p), false);
  }
  std::vector<float> pos;
  for (float v : xs) if (v > 0) pos.push_back(v);
  for (float p : {0.5f, -1.5f, 2.7f}) {
    check_unary_vs_cpu(Pow{p}, [p](const Var<float>& v) { return autograd::pow(v, p); }, pos,
                       "pow " + std::to_string(p) + " (x > 0)", false);
  }
  check_unary_vs_cpu(AddScalar{-1.25f}, [](const Var<float>& v) { return autograd::add_scalar(v, -1.25f); }, xs,
                     "add_scalar", false);
  check_unary_vs_cpu(MulScalar{-1.25f}, [](const Var<float>& v) { return autograd::mul_scalar(v, -1.25f); }, xs,
                     "mul_scalar", false);
}

TEST_CASE("MaskedFill through the broadcast indexer matches the CPU masked_fill, mask broadcast and x permuted",
          "[cuda][functors][autograd]") {
  // x is a permuted (non-contiguous) view; the mask (4, 1) broadcasts over axes 0 and 2.
  const auto base = Tensor<float>::randn({5, 4, 3}, 61);
  const auto x = base.permute({2, 1, 0});  // (3, 4, 5)
  const auto mask = Tensor<float>::from({4, 1}, {1, 0, 0, 1});
  const auto g = Tensor<float>::randn({3, 4, 5}, 62);
  for (float value : {-1e9f, -INFINITY, 0.5f}) {
    const auto [y_cpu, dx_cpu] = cpu_fwd_bwd([&](const Var<float>& v) { return autograd::masked_fill(v, mask, value); },
                                             x, g);
    const Shape out = x.shape();
    const Shape* shapes[2] = {&x.shape(), &mask.shape()};
    const Shape* strides[2] = {&x.strides(), &mask.strides()};
    const auto ix = make_indexer<2>(out, shapes, strides);  // masked_fill's launcher: indexer<2>(x.shape(), x, mask)
    const Shape* gshapes[2] = {&g.shape(), &mask.shape()};
    const Shape* gstrides[2] = {&g.strides(), &mask.strides()};
    const auto gix = make_indexer<2>(out, gshapes, gstrides);
    std::vector<float> y(60), dx(60);
    for (int64_t i = 0; i < 60; ++i) {
      int64_t off[2];
      ix.offsets(i, off);
      y[i] = MaskedFill{value}(x.data()[off[0]], mask.data()[off[1]]);
      gix.offsets(i, off);
      dx[i] = MaskedFillGrad{}(g.data()[off[0]], mask.data()[off[1]]);
    }
    check_match(y, y_cpu, 0, 0, "masked_fill forward");
    check_match(dx, dx_cpu, 0, 0, "masked_fill backward");
  }
}

TEST_CASE("broadcast_to with MulScalar gives the CPU sum / mean backward over each axis", "[cuda][functors][autograd]") {
  const auto x = Tensor<float>::randn({3, 4, 5}, 71);
  for (int axis = 0; axis < 3; ++axis)
    for (bool keepdim : {false, true})
      for (bool mean : {false, true}) {
        Shape rs = x.shape();
        if (keepdim) rs[axis] = 1;
        else rs.erase(rs.begin() + axis);
        const auto g = Tensor<float>::randn(rs, 72 + axis);
        const auto [y_cpu, dx_cpu] = cpu_fwd_bwd(
            [&](const Var<float>& v) { return mean ? autograd::mean(v, axis, keepdim) : autograd::sum(v, axis, keepdim); },
            x, g);
        // reduce_backward: dy reshaped to keepdim, broadcast_to(x.shape(), 1/n or 1) = unary_kernel with MulScalar.
        Shape keep = x.shape();
        keep[axis] = 1;
        const auto gk = g.reshape(keep);
        const Shape* shapes[1] = {&gk.shape()};
        const Shape* strides[1] = {&gk.strides()};
        const auto ix = make_indexer<1>(x.shape(), shapes, strides);
        const MulScalar f{mean ? 1.0f / float(x.shape()[axis]) : 1.0f};
        std::vector<float> dx(60);
        for (int64_t i = 0; i < 60; ++i) {
          int64_t off[1];
          ix.offsets(i, off);
          dx[i] = f(gk.data()[off[0]]);
        }
        check_match(dx, dx_cpu, 1e-7, 0, "reduce backward axis " + std::to_string(axis));
      }
  // sum_all / mean_all backward: dy (or dy / numel) everywhere.
  const auto g = Tensor<float>::scalar(1.7f);
  const auto [ys, dxs] = cpu_fwd_bwd([](const Var<float>& v) { return autograd::sum(v); }, x, g);
  const auto [ym, dxm] = cpu_fwd_bwd([](const Var<float>& v) { return autograd::mean(v); }, x, g);
  for (int i = 0; i < 60; ++i) {
    CHECK(dxs[i] == 1.7f);
    CHECK(dxm[i] == 1.7f / 60.0f);  // fill_from_scalar_kernel divides, as the CPU op
  }
}

namespace {
// Reduces `row` with ArgMaxPick the way row_argmax_kernel does with `threads` threads: each thread folds a strided
// subsequence from the identity, then the per-thread results are combined in a shuffled order (a stand-in for
// BlockReduce's tree: any order must give the same answer).
ValIdx block_argmax(const std::vector<float>& row, int threads, uint64_t seed) {
  std::vector<ValIdx> part(threads, ArgMaxPick::identity());
  for (std::size_t j = 0; j < row.size(); ++j)
    part[j % threads] = ArgMaxPick{}(part[j % threads], ValIdx{row[j], int64_t(j)});
  for (int i = threads - 1; i > 0; --i)  // Fisher–Yates with Philox
    std::swap(part[i], part[int(Philox::uniform(seed, 1, i) * (i + 1)) % (i + 1)]);
  while (part.size() > 1) {  // pairwise tree
    std::vector<ValIdx> next;
    for (std::size_t i = 0; i + 1 < part.size(); i += 2) next.push_back(ArgMaxPick{}(part[i], part[i + 1]));
    if (part.size() % 2) next.push_back(part.back());
    part = std::move(next);
  }
  return part[0];
}
}  // namespace

TEST_CASE("ArgMaxPick in any reduction order picks the CPU max_with_index element; MaxNan matches max_axis",
          "[cuda][functors][autograd]") {
  const float nan = NAN, inf = INFINITY;
  const std::vector<std::vector<float>> rows{
      {1, 3, 3, 2, 3},                 // ties: the first maximum
      {-inf, -inf, -inf},              // all −∞: index 0
      {0.5f, nan, 7, nan, 9},          // the first NaN wins over larger values and later NaNs
      {nan, 1, 2},                     // NaN first
      {-0.0f, 0.0f, -0.0f},            // −0 and +0 compare equal: the first
      {-5, -4, -4.5f, -4},             // negatives
      {2},                             // single element
  };
  std::vector<std::vector<float>> all = rows;
  std::vector<float> big(700);
  for (int i = 0; i < 700; ++i) big[i] = float(std::round(4 * Philox::normal(81, 0, i)));  // many ties, > 256 long
  all.push_back(big);
  for (std::size_t r = 0; r < all.size(); ++r) {
    const auto& row = all[r];
    const auto t = Tensor<float>::from({1, int64_t(row.size())}, row);
    const auto want = backend::cpu::max_with_index(t, 1, false);
    const float want_max = backend::cpu::max_axis(t, 1, false).data()[0];
    for (int threads : {1, 3, 256})
      for (uint64_t seed : {1u, 2u, 3u}) {
        const ValIdx got = block_argmax(row, threads, seed + 10 * r);
        INFO("row " << r << " threads " << threads << " seed " << seed);
        CHECK(got.i == want.at[0]);
        const float wv = want.values.data()[0];
        CHECK(((std::isnan(got.v) && std::isnan(wv)) || (got.v == wv && std::signbit(got.v) == std::signbit(wv))));
      }
    // MaxNan fold, strided over 4 lanes then combined (row_reduce_kernel's Max).
    float lane[4] = {-inf, -inf, -inf, -inf};
    for (std::size_t j = 0; j < row.size(); ++j) lane[j % 4] = MaxNan{}(lane[j % 4], row[j]);
    const float m = MaxNan{}(MaxNan{}(lane[3], lane[1]), MaxNan{}(lane[2], lane[0]));
    CHECK(((std::isnan(m) && std::isnan(want_max)) || m == want_max));
  }
}

TEST_CASE("max backward via axis_coord matches the CPU autograd max over each axis", "[cuda][functors][autograd]") {
  // Rounded values: ties along every axis, so the first-argmax rule matters.
  auto x = Tensor<float>::randn({3, 4, 5}, 91, 1.5);
  for (int64_t i = 0; i < x.numel(); ++i) x.data()[i] = std::round(x.data()[i]);
  for (int axis = 0; axis < 3; ++axis)
    for (bool keepdim : {false, true}) {
      Shape rs = x.shape();
      if (keepdim) rs[axis] = 1;
      else rs.erase(rs.begin() + axis);
      const auto g = Tensor<float>::randn(rs, 92 + axis);
      const auto [y_cpu, dx_cpu] = cpu_fwd_bwd([&](const Var<float>& v) { return autograd::max(v, axis, keepdim); }, x, g);
      // Forward: ArgMaxPick over each (outer, inner) line; backward: max_backward_kernel's per-element rule.
      const int64_t n = x.shape()[axis];
      int64_t inner = 1, outer = 1;
      for (int d = axis + 1; d < 3; ++d) inner *= x.shape()[d];
      for (int d = 0; d < axis; ++d) outer *= x.shape()[d];
      std::vector<float> y(outer * inner);
      std::vector<int64_t> at(outer * inner);
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
          std::vector<float> line;
          for (int64_t k = 0; k < n; ++k) line.push_back(x.data()[(o * n + k) * inner + i]);
          const ValIdx r = block_argmax(line, 2, 7);
          y[o * inner + i] = r.v;
          at[o * inner + i] = r.i;
        }
      check_match(y, y_cpu, 0, 0, "max forward axis " + std::to_string(axis));
      std::vector<float> dx(x.numel());
      for (int64_t e = 0; e < x.numel(); ++e) {
        const AxisCoord c = axis_coord(e, n, inner);
        const int64_t r = c.reduced(inner);
        dx[e] = max_axis_grad(c, at[r], g.data()[r]);
      }
      check_match(dx, dx_cpu, 0, 0, "max backward axis " + std::to_string(axis));
    }
}

namespace {
// copy_pieces + copy_kernel on the host: for each piece, dst[off0] = src[off1] over the piece's elements.
void host_copy_pieces(float* joined, const Shape& joined_strides, int axis, const std::vector<int64_t>& starts,
                      const std::vector<Tensor<float>>& pieces, std::vector<Tensor<float>>* out_pieces,
                      bool into_joined) {
  for (std::size_t k = 0; k < starts.size(); ++k) {
    const Tensor<float>& p = into_joined ? pieces[k] : (*out_pieces)[k];
    const PieceCopy c = piece_copy(joined_strides, axis, starts[k], p.shape(), p.strides(), into_joined);
    for (int64_t i = 0; i < c.n; ++i) {
      int64_t off[2];
      c.ix.offsets(i, off);
      if (into_joined) joined[c.base + off[0]] = pieces[k].data()[off[1]];
      else (*out_pieces)[k].data()[off[0]] = joined[c.base + off[1]];
    }
  }
}
}  // namespace

TEST_CASE("concat / split / slice-backward copy plans match the CPU autograd concat, split and slice",
          "[cuda][functors][autograd]") {
  // Three pieces along axis 1 of (2, ·, 3); the second is a permuted (non-contiguous) view, the third is empty.
  const auto a = Tensor<float>::randn({2, 4, 3}, 101);
  const auto b = Tensor<float>::randn({3, 2, 2}, 102).permute({1, 2, 0});  // (2, 2, 3)
  const auto e = Tensor<float>({2, 0, 3});
  const std::vector<Tensor<float>> xs{a, b, e};
  int axis = -2;
  const Shape out_shape = concat_shape({a.shape(), b.shape(), e.shape()}, axis);
  CHECK(axis == 1);
  CHECK(out_shape == Shape{2, 6, 3});
  const std::vector<int64_t> sizes{4, 2, 0};
  CHECK(axis_offsets(sizes) == std::vector<int64_t>{0, 4, 6});

  // concat forward + backward vs the CPU op.
  std::vector<Var<float>> vs;
  for (const auto& t : xs) vs.emplace_back(t, true);
  const Var<float> y = autograd::concat(vs, 1);
  const auto g = Tensor<float>::randn({2, 6, 3}, 103);
  y.backward(g);
  Tensor<float> joined(out_shape);
  host_copy_pieces(joined.data(), joined.strides(), 1, axis_offsets(sizes), xs, nullptr, true);
  check_match(joined.to_vector(), y.value().contiguous().to_vector(), 0, 0, "concat forward");
  // concat backward = split of g into contiguous pieces.
  std::vector<Tensor<float>> gp{Tensor<float>({2, 4, 3}), Tensor<float>({2, 2, 3}), Tensor<float>({2, 0, 3})};
  host_copy_pieces(const_cast<float*>(g.data()), g.strides(), 1, axis_offsets(sizes), {}, &gp, false);
  for (int k = 0; k < 3; ++k)
    check_match(gp[k].to_vector(), vs[k].grad().contiguous().to_vector(), 0, 0, "concat backward piece " + std::to_string(k));

  // split of a non-contiguous input, forward vs the CPU split; backward with one piece getting no gradient.
  const auto x = Tensor<float>::randn({6, 2, 3}, 104).permute({1, 0, 2});  // (2, 6, 3), non-contiguous
  Var<float> xv(x, true);
  const std::vector<int64_t> ss{1, 3, 2};
  int sa = 1;
  check_split(x.shape(), ss, sa);
  const auto pieces = autograd::split(xv, ss, 1);
  std::vector<Tensor<float>> sp{Tensor<float>({2, 1, 3}), Tensor<float>({2, 3, 3}), Tensor<float>({2, 2, 3})};
  host_copy_pieces(const_cast<float*>(x.data()), x.strides(), 1, axis_offsets(ss), {}, &sp, false);
  for (int k = 0; k < 3; ++k)
    check_match(sp[k].to_vector(), pieces[k].value().contiguous().to_vector(), 0, 0, "split forward piece " + std::to_string(k));
  const auto g0 = Tensor<float>::randn({2, 1, 3}, 105), g2 = Tensor<float>::randn({2, 2, 3}, 106);
  pieces[0].backward(g0);
  pieces[2].backward(g2);  // piece 1 gets no gradient: zeros there (split_backward with an undefined piece)
  Tensor<float> dx(x.shape());
  const auto offs = axis_offsets(ss);
  host_copy_pieces(dx.data(), dx.strides(), 1, {offs[0], offs[2]}, {g0, g2}, nullptr, true);
  check_match(dx.to_vector(), xv.grad().contiguous().to_vector(), 0, 0, "split backward");

  // slice backward: g placed at [start, start + len) in zeros.
  Var<float> zv(Tensor<float>::randn({4, 7}, 107), true);
  const auto gs = Tensor<float>::randn({4, 3}, 108);
  autograd::slice(zv, 1, 2, 5).backward(gs);
  Tensor<float> dz({4, 7});
  host_copy_pieces(dz.data(), dz.strides(), 1, {2}, {gs}, nullptr, true);
  check_match(dz.to_vector(), zv.grad().to_vector(), 0, 0, "slice backward");

  // Shape errors name the op and the shapes, as the CPU ops do.
  int ax = 0;
  CHECK_THROWS_WITH(concat_shape({Shape{2, 3}, Shape{2, 4}}, ax), Catch::Matchers::Contains("differ off axis 0"));
  ax = 0;
  CHECK_THROWS_WITH(concat_shape({}, ax), Catch::Matchers::Contains("concat: no inputs"));
  ax = 1;
  CHECK_THROWS_WITH(check_split(Shape{2, 6}, {2, 3}, ax), Catch::Matchers::Contains("sizes add up to 5"));
  ax = 1;
  CHECK_THROWS_WITH(check_split(Shape{2, 6}, {7, -1}, ax), Catch::Matchers::Contains("negative size -1"));
  ax = 3;
  CHECK_THROWS_AS(check_split(Shape{2, 6}, {6}, ax), Error);
}
