// Each CUDA op vs a CPU computation in double, or vs the CPU autograd op on the same inputs. fp32: rtol/atol 1e-5
// (1e-4 where a row sum is involved); bf16: inputs are bf16-exact, outputs rounded once → rtol/atol 2e-2.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>

#include "sinklab/autograd.hpp"
#include "sinklab/backend/cpu/argmax.hpp"
#include "sinklab/backend/cpu/cross_entropy.hpp"
#include "sinklab/backend/cpu/softmax.hpp"
#include "sinklab/backend/cuda/ops.cuh"
#include "support/check_close.hpp"

using namespace sinklab;
using namespace sinklab::backend::cuda;
using sinklab::test::check_close;

namespace {
std::vector<double> host(const Tensor<float, Cuda>& t) {
  const auto v = t.to_host().to_vector();
  return {v.begin(), v.end()};
}
std::vector<double> host(const Tensor<bf16, Cuda>& t) {
  const auto v = t.to_host().cast<float>().to_vector();
  return {v.begin(), v.end()};
}
std::vector<double> dv(const Tensor<float>& t) {
  const auto v = t.contiguous().to_vector();
  return {v.begin(), v.end()};
}
std::vector<int64_t> host(const Tensor<int64_t, Cuda>& t) { return t.to_host().to_vector(); }

// check_close, except that equal values (equal infinities, which |a − b| turns into NaN) match.
void check_match(std::vector<double> got, std::vector<double> want, double rtol, double atol, const std::string& what) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i)
    if (got[i] == want[i]) got[i] = want[i] = 0.0;
  check_close(got, want, rtol, atol, what);
}

// Forward value and input gradient of a one-input CPU autograd op on x with upstream gradient g.
template <class Op>
std::pair<std::vector<double>, std::vector<double>> cpu_ref(Op op, const Tensor<float>& x, const Tensor<float>& g) {
  autograd::Var<float> v(x, true);
  const auto y = op(v);
  y.backward(g);
  return {dv(y.value()), dv(v.grad())};
}

// The storage type's device copy of a host fp32 tensor, and the fp32 values it holds (bf16: rounded), so the CPU
// reference sees exactly the GPU's inputs.
template <class T>
Tensor<T, Cuda> dev(const Tensor<float>& t) {
  if constexpr (std::is_same_v<T, float>) return to_device(t);
  else return to_device(t.contiguous().cast<bf16>());
}
template <class T>
Tensor<float> exact(const Tensor<float>& t) {
  if constexpr (std::is_same_v<T, float>) return t.contiguous();
  else return t.contiguous().cast<bf16>().cast<float>();
}
template <class T>
constexpr double tol(double fp32) {
  return std::is_same_v<T, float> ? fp32 : 2e-2;
}
template <class T>
std::string tname() {
  return std::is_same_v<T, float> ? " fp32" : " bf16";
}
}  // namespace

TEST_CASE("unary and broadcast binary ops with backward", "[gpu][ops]") {
  auto a = Tensor<float>::randn({4, 1, 5}, 1), b = Tensor<float>::randn({3, 1}, 2), dz = Tensor<float>::randn({4, 3, 5}, 3);
  const auto da_h = dv(a), db_h = dv(b), dz_h = dv(dz);
  auto A = to_device(a), B = to_device(b), DZ = to_device(dz);
  std::vector<double> z(60), ga(20, 0.0), gb(3, 0.0);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 5; ++k) {
        const double x = da_h[i * 5 + k], y = db_h[j], d = dz_h[(i * 3 + j) * 5 + k];
        z[(i * 3 + j) * 5 + k] = x * y;
        ga[i * 5 + k] += d * y;
        gb[j] += d * x;
      }
  check_close(host(binary(BinaryOp::Mul, A, B)), z, 1e-5, 1e-5, "mul");
  Tensor<float, Cuda> GA, GB;
  binary_backward(BinaryOp::Mul, A, B, DZ, GA, GB);
  CHECK(GA.shape() == a.shape());
  check_close(host(GA), ga, 1e-5, 1e-5, "mul grad a");
  check_close(host(GB), gb, 1e-5, 1e-5, "mul grad b");

  std::vector<double> s(20), ds(20);
  for (int i = 0; i < 20; ++i) {
    const double x = da_h[i], sg = 1 / (1 + std::exp(-x));
    s[i] = x * sg;
    ds[i] = da_h[i] * 0 + (sg * (1 + x * (1 - sg))) * da_h[(i + 1) % 20];
  }
  auto Y = unary(UnaryOp::Silu, A);
  check_close(host(Y), s, 1e-5, 1e-5, "silu");
  auto up = Tensor<float>::zeros({4, 1, 5});
  for (int i = 0; i < 20; ++i) up.data()[i] = float(da_h[(i + 1) % 20]);
  check_close(host(unary_backward(UnaryOp::Silu, A, Y, to_device(up))), ds, 1e-5, 1e-5, "silu grad");
  // non-contiguous input
  check_close(host(unary(UnaryOp::Neg, A.permute({2, 1, 0}))), [&] {
    std::vector<double> r;
    for (double v : dv(a.permute({2, 1, 0}).contiguous())) r.push_back(-v);
    return r;
  }(), 0, 0, "neg permuted");
}

TEST_CASE("reductions", "[gpu][ops]") {
  auto x = Tensor<float>::randn({3, 7, 5}, 4);
  const auto h = dv(x);
  double tot = 0;
  for (double v : h) tot += v;
  CHECK(sum_all(to_device(x)).to_host().item() == Approx(tot).margin(1e-4));
  std::vector<double> s(15, 0.0), mx(15, -1e300);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 7; ++j)
      for (int k = 0; k < 5; ++k) s[i * 5 + k] += h[(i * 7 + j) * 5 + k], mx[i * 5 + k] = std::max(mx[i * 5 + k], h[(i * 7 + j) * 5 + k]);
  check_close(host(reduce(ReduceOp::Sum, to_device(x), 1)), s, 1e-5, 1e-5, "sum axis 1");
  check_close(host(reduce(ReduceOp::Max, to_device(x), 1)), mx, 0, 0, "max axis 1");
  CHECK(reduce(ReduceOp::Mean, to_device(x), -1, true).shape() == Shape{3, 7, 1});
}

TEST_CASE("softmax and log_softmax with backward", "[gpu][ops]") {
  const int R = 6, C = 300;  // C > block size: exercises the strided row loop
  auto x = Tensor<float>::randn({R, C}, 5, 3.0), dy = Tensor<float>::randn({R, C}, 6);
  const auto xh = dv(x), dh = dv(dy);
  std::vector<double> y(R * C), ly(R * C), dx(R * C), ldx(R * C);
  for (int r = 0; r < R; ++r) {
    double m = -1e300, s = 0, dot = 0, sd = 0;
    for (int c = 0; c < C; ++c) m = std::max(m, xh[r * C + c]);
    for (int c = 0; c < C; ++c) s += std::exp(xh[r * C + c] - m);
    for (int c = 0; c < C; ++c) y[r * C + c] = std::exp(xh[r * C + c] - m) / s, ly[r * C + c] = xh[r * C + c] - m - std::log(s);
    for (int c = 0; c < C; ++c) dot += y[r * C + c] * dh[r * C + c], sd += dh[r * C + c];
    for (int c = 0; c < C; ++c) dx[r * C + c] = y[r * C + c] * (dh[r * C + c] - dot), ldx[r * C + c] = dh[r * C + c] - y[r * C + c] * sd;
  }
  auto X = to_device(x), DY = to_device(dy);
  auto Y = softmax(X), LY = log_softmax(X);
  check_close(host(Y), y, 1e-4, 1e-6, "softmax");
  check_close(host(LY), ly, 1e-4, 1e-5, "log_softmax");
  check_close(host(softmax_backward(Y, DY)), dx, 1e-4, 1e-6, "softmax grad");
  check_close(host(log_softmax_backward(LY, DY)), ldx, 1e-4, 1e-5, "log_softmax grad");
  auto Yb = softmax(to_device(x.cast<bf16>()));
  check_close(host(Yb), y, 2e-2, 2e-2, "softmax bf16");
}

TEST_CASE("softmax, log_softmax and cross-entropy of rows with −∞ logits vs the CPU backend", "[gpu][ops]") {
  // Rows longer than the 256-thread block, so thread t's first element can be −∞ and a later one finite
  // (Note [empty lse state], backend/functors/softmax.hpp): row 0 −∞ at column 1 (column 257 finite), row 1 the
  // first 256 columns and every 7th one −∞, row 2 all −∞ (NaN everywhere, as the CPU backend gives).
  const int R = 3, C = 600;
  auto x = Tensor<float>::randn({R, C}, 21, 3.0);
  const float ninf = -std::numeric_limits<float>::infinity();
  x.data()[1] = ninf;
  for (int c = 0; c < C; ++c)
    if (c < 256 || c % 7 == 0) x.data()[C + c] = ninf;
  for (int c = 0; c < C; ++c) x.data()[2 * C + c] = ninf;
  const auto X = to_device(x);
  check_match(host(softmax(X)), dv(backend::cpu::softmax_forward(x, -1, false)), 1e-4, 1e-6, "softmax, −∞ logits");
  check_match(host(log_softmax(X)), dv(backend::cpu::softmax_forward(x, -1, true)), 1e-4, 1e-5,
              "log_softmax, −∞ logits");
  for (double y : host(softmax(X.slice(0, 0, 2)))) REQUIRE(std::isfinite(y));
  // Cross-entropy of rows 0 and 1 (row 2 has no finite logit), targets at finite columns.
  const auto x2 = x.slice(0, 0, 2).contiguous();
  const auto t = Tensor<int32_t>::from({2}, {257, 300});
  const auto cpu = backend::cpu::cross_entropy_forward(x2, t, -1);
  const auto out = cross_entropy(to_device(x2), to_device(t));
  const auto rows = cpu.loss.to_vector();
  CHECK(out.loss.to_host().item() == Approx((rows[0] + rows[1]) / 2).epsilon(1e-5));
  const auto lse = out.lse.to_host().to_vector();
  check_close(std::vector<double>(lse.begin(), lse.end()), std::vector<double>(cpu.lse.begin(), cpu.lse.end()), 1e-5,
              1e-5, "cross-entropy lse, −∞ logits");
}

TEST_CASE("RMSNorm and LayerNorm forward/backward", "[gpu][ops]") {
  const int R = 5, C = 384;
  const double eps = 1e-5;
  auto x = Tensor<float>::randn({R, C}, 7), w = Tensor<float>::randn({C}, 8), b = Tensor<float>::randn({C}, 9),
       dy = Tensor<float>::randn({R, C}, 10);
  const auto xh = dv(x), wh = dv(w), bh = dv(b), dh = dv(dy);
  std::vector<double> ry(R * C), rdx(R * C), rdw(C, 0.0), ly(R * C), ldx(R * C), ldw(C, 0.0), ldb(C, 0.0);
  for (int r = 0; r < R; ++r) {
    const double* xr = &xh[r * C];
    const double* d = &dh[r * C];
    double ss = 0, mu = 0, var = 0;
    for (int c = 0; c < C; ++c) ss += xr[c] * xr[c], mu += xr[c];
    mu /= C;
    for (int c = 0; c < C; ++c) var += (xr[c] - mu) * (xr[c] - mu);
    var /= C;
    const double ri = 1 / std::sqrt(ss / C + eps), li = 1 / std::sqrt(var + eps);
    double dot = 0, sg = 0, sgx = 0;
    for (int c = 0; c < C; ++c) {
      dot += wh[c] * d[c] * xr[c];
      sg += wh[c] * d[c];
      sgx += wh[c] * d[c] * (xr[c] - mu) * li;
    }
    for (int c = 0; c < C; ++c) {
      ry[r * C + c] = xr[c] * ri * wh[c];
      rdx[r * C + c] = ri * (wh[c] * d[c] - xr[c] * ri * ri * dot / C);
      rdw[c] += d[c] * xr[c] * ri;
      const double xhat = (xr[c] - mu) * li;
      ly[r * C + c] = xhat * wh[c] + bh[c];
      ldx[r * C + c] = li * (wh[c] * d[c] - sg / C - xhat * sgx / C);
      ldw[c] += d[c] * xhat;
      ldb[c] += d[c];
    }
  }
  auto X = to_device(x), W = to_device(w), Bb = to_device(b), DY = to_device(dy);
  auto rn = rms_norm(X, W, float(eps));
  check_close(host(rn.y), ry, 1e-4, 1e-5, "rms_norm");
  Tensor<float, Cuda> dx, dw, db;
  rms_norm_backward(X, W, rn.rstd, DY, dx, dw);
  check_close(host(dx), rdx, 1e-4, 1e-4, "rms_norm dx");
  check_close(host(dw), rdw, 1e-4, 1e-4, "rms_norm dw");
  auto ln = layer_norm(X, W, Bb, float(eps));
  check_close(host(ln.y), ly, 1e-4, 1e-5, "layer_norm");
  layer_norm_backward(X, W, ln.mean, ln.rstd, DY, dx, dw, db);
  check_close(host(dx), ldx, 1e-4, 1e-4, "layer_norm dx");
  check_close(host(dw), ldw, 1e-4, 1e-4, "layer_norm dw");
  check_close(host(db), ldb, 1e-4, 1e-4, "layer_norm db");
  auto rb = rms_norm(to_device(x.cast<bf16>()), to_device(w.cast<bf16>()), float(eps));
  check_close(host(rb.y), ry, 2e-2, 2e-2, "rms_norm bf16");
}

TEST_CASE("RoPE both layouts; backward inverts forward", "[gpu][ops]") {
  const int B = 2, T = 5, D = 8;
  const double base = 10000.0;
  auto x = Tensor<float>::randn({B, T, D}, 11);
  const auto xh = dv(x);
  for (auto layout : {backend::functors::RopeLayout::RotateHalf, backend::functors::RopeLayout::Interleaved}) {
    std::vector<double> y(xh);
    for (int b = 0; b < B; ++b)
      for (int t = 0; t < T; ++t)
        for (int p = 0; p < D / 2; ++p) {
          const int i = layout == backend::functors::RopeLayout::RotateHalf ? p : 2 * p;
          const int j = layout == backend::functors::RopeLayout::RotateHalf ? p + D / 2 : 2 * p + 1;
          const double ang = (t + 3) * std::pow(base, -2.0 * p / D);
          const double a = xh[(b * T + t) * D + i], c = xh[(b * T + t) * D + j];
          y[(b * T + t) * D + i] = a * std::cos(ang) - c * std::sin(ang);
          y[(b * T + t) * D + j] = a * std::sin(ang) + c * std::cos(ang);
        }
    auto Y = rope(to_device(x), layout, float(base), 3);
    check_close(host(Y), y, 1e-5, 1e-5, "rope");
    check_close(host(rope(Y, layout, float(base), 3, /*backward*/ true)), xh, 1e-5, 1e-5, "rope backward∘forward");
  }
}

TEST_CASE("SwiGLU forward/backward", "[gpu][ops]") {
  auto g = Tensor<float>::randn({3, 17}, 12), u = Tensor<float>::randn({3, 17}, 13), dh = Tensor<float>::randn({3, 17}, 14);
  const auto gh = dv(g), uh = dv(u), dhh = dv(dh);
  std::vector<double> h(51), dg(51), du(51);
  for (int i = 0; i < 51; ++i) {
    const double s = 1 / (1 + std::exp(-gh[i]));
    h[i] = gh[i] * s * uh[i];
    dg[i] = dhh[i] * uh[i] * s * (1 + gh[i] * (1 - s));
    du[i] = dhh[i] * gh[i] * s;
  }
  auto G = to_device(g), U = to_device(u);
  check_close(host(swiglu(G, U)), h, 1e-5, 1e-6, "swiglu");
  Tensor<float, Cuda> DG, DU;
  swiglu_backward(G, U, to_device(dh), DG, DU);
  check_close(host(DG), dg, 1e-5, 1e-6, "swiglu dg");
  check_close(host(DU), du, 1e-5, 1e-6, "swiglu du");
}

TEST_CASE("cross-entropy forward/backward with ignored rows", "[gpu][ops]") {
  const int N = 4, V = 1000;
  auto x = Tensor<float>::randn({N, V}, 15, 2.0);
  auto t = Tensor<int32_t>::from({N}, {3, -1, 999, 0});
  const auto xh = dv(x);
  double loss = 0;
  std::vector<double> dx(N * V, 0.0), lse(N);
  for (int r = 0; r < N; ++r) {
    double m = -1e300, s = 0;
    for (int c = 0; c < V; ++c) m = std::max(m, xh[r * V + c]);
    for (int c = 0; c < V; ++c) s += std::exp(xh[r * V + c] - m);
    lse[r] = m + std::log(s);
  }
  const double dl = 1.5, count = 3;
  for (int r = 0; r < N; ++r) {
    const int tr = t.data()[r];
    if (tr < 0) continue;
    loss += (lse[r] - xh[r * V + tr]) / count;
    for (int c = 0; c < V; ++c) dx[r * V + c] = dl / count * (std::exp(xh[r * V + c] - lse[r]) - (c == tr));
  }
  auto X = to_device(x);
  auto T = to_device(t);
  auto out = cross_entropy(X, T);
  CHECK(out.loss.to_host().item() == Approx(loss).epsilon(1e-5));
  CHECK(out.count.to_host().item() == 3.0f);
  check_close(host(cross_entropy_backward(X, T, out, to_device(Tensor<float>::scalar(float(dl))))), dx, 1e-4, 1e-7, "ce grad");
}

TEST_CASE("embedding gather and deterministic scatter-add backward", "[gpu][ops]") {
  const int V = 10, D = 6, N = 9;
  auto w = Tensor<float>::randn({V, D}, 16), dy = Tensor<float>::randn({N, D}, 17);
  auto ids = Tensor<int32_t>::from({N}, {3, 1, 3, 9, 0, 3, 1, 7, 3});
  const auto wh = dv(w), dh = dv(dy);
  std::vector<double> y(N * D), dw(V * D, 0.0);
  for (int n = 0; n < N; ++n)
    for (int d = 0; d < D; ++d) y[n * D + d] = wh[ids.data()[n] * D + d], dw[ids.data()[n] * D + d] += dh[n * D + d];
  auto I = to_device(ids);
  check_close(host(embedding(to_device(w), I)), y, 0, 0, "embedding");
  const auto g1 = host(embedding_backward(to_device(dy), I, V));
  check_close(g1, dw, 1e-6, 1e-6, "embedding grad");
  CHECK(host(embedding_backward(to_device(dy), I, V)) == g1);  // bitwise deterministic
  CHECK_THROWS_AS(embedding(to_device(w), to_device(Tensor<int32_t>::from({1}, {V}))), Error);
}

TEST_CASE("AdamW multi-tensor step with bf16 copies", "[gpu][ops]") {
  const std::vector<int64_t> sizes{5, 10000, 1};
  std::vector<Tensor<float, Cuda>> W, M, Vv, G;
  std::vector<Tensor<bf16, Cuda>> W16;
  std::vector<AdamWParam<float>> params;
  std::vector<std::vector<double>> wh, gh;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    auto w = Tensor<float>::randn({sizes[i]}, 20 + i), g = Tensor<float>::randn({sizes[i]}, 30 + i);
    wh.push_back(dv(w));
    gh.push_back(dv(g));
    W.push_back(to_device(w));
    M.push_back(Tensor<float, Cuda>::zeros({sizes[i]}));
    Vv.push_back(Tensor<float, Cuda>::zeros({sizes[i]}));
    G.push_back(to_device(g));
    W16.push_back(Tensor<bf16, Cuda>::zeros({sizes[i]}));
  }
  for (std::size_t i = 0; i < sizes.size(); ++i)
    params.push_back({W[i].data(), M[i].data(), Vv[i].data(), G[i].data(), W16[i].data(), sizes[i], i == 1 ? 0.1f : 0.0f});
  const AdamWHyper hp{1e-2f, 0.9f, 0.95f, 1e-8f, 1};
  adamw_multi_tensor(params, hp);
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    std::vector<double> want(sizes[i]);
    const double wd = i == 1 ? 0.1 : 0.0;
    for (int64_t k = 0; k < sizes[i]; ++k) {
      const double g = gh[i][k], m = 0.1 * g, v = 0.05 * g * g;
      want[k] = wh[i][k] * (1 - 1e-2 * wd) - 1e-2 * (m / 0.1) / (std::sqrt(v / 0.05) + 1e-8);
    }
    check_close(host(W[i]), want, 1e-5, 1e-5, "adamw w");
    check_close(host(W16[i]), want, 1e-2, 1e-2, "adamw bf16 copy");
  }
}

// --- ops added for CPU-autograd parity: each forward and backward vs the CPU autograd op on the same inputs ---------

TEMPLATE_TEST_CASE("erf-GELU, abs and the scalar-parameter ops vs the CPU autograd ops", "[gpu][ops]", float, bf16) {
  using T = TestType;
  auto x0 = Tensor<float>::randn({4, 33}, 201, 2.5);
  const float special[] = {0.0f, -0.5f, 0.8f, 1.0f, -1.0f, 20.0f, -20.0f, 1e-3f};
  for (int i = 0; i < 8; ++i) x0.data()[i] = special[i];  // clamp's boundaries, elu's tail, abs's kink
  const auto x = exact<T>(x0), g = exact<T>(Tensor<float>::randn({4, 33}, 202));
  const auto X = dev<T>(x), G = dev<T>(g);
  const double rt = tol<T>(2e-6), at = tol<T>(1e-6);

  const std::pair<UnaryOp, const char*> unaries[] = {{UnaryOp::Gelu, "gelu"}, {UnaryOp::Abs, "abs"}};
  for (auto [op, name] : unaries) {
    const auto [y, dx] = cpu_ref(
        [op = op](const autograd::Var<float>& v) { return op == UnaryOp::Gelu ? autograd::gelu(v) : autograd::abs(v); }, x, g);
    const auto Y = unary(op, X);
    check_close(host(Y), y, rt, at, std::string(name) + tname<T>());
    check_close(host(unary_backward(op, X, Y, G)), dx, rt, at, std::string(name) + " grad" + tname<T>());
  }

  struct Case {
    ScalarOp op;
    float a, b;
    const char* name;
  };
  const Case cases[] = {{ScalarOp::Elu, 1.0f, 0, "elu"},        {ScalarOp::Elu, 0.7f, 0, "elu 0.7"},
                        {ScalarOp::Clamp, -0.5f, 0.8f, "clamp"}, {ScalarOp::Pow, 2.0f, 0, "pow 2"},
                        {ScalarOp::Pow, 3.0f, 0, "pow 3"},       {ScalarOp::AddScalar, -1.25f, 0, "add_scalar"},
                        {ScalarOp::MulScalar, -1.25f, 0, "mul_scalar"}};
  auto cpu_op = [](const Case& c) {
    return [c](const autograd::Var<float>& v) {
      switch (c.op) {
        case ScalarOp::Elu: return autograd::elu(v, c.a);
        case ScalarOp::Clamp: return autograd::clamp(v, c.a, c.b);
        case ScalarOp::Pow: return autograd::pow(v, c.a);
        case ScalarOp::AddScalar: return autograd::add_scalar(v, c.a);
        case ScalarOp::MulScalar: return autograd::mul_scalar(v, c.a);
      }
      return v;
    };
  };
  for (const Case& c : cases) {
    const auto [y, dx] = cpu_ref(cpu_op(c), x, g);
    check_close(host(unary_scalar(c.op, X, c.a, c.b)), y, rt, at, std::string(c.name) + tname<T>());
    check_close(host(unary_scalar_backward(c.op, X, G, c.a, c.b)), dx, rt, at, std::string(c.name) + " grad" + tname<T>());
  }
  // Fractional power on positive inputs.
  auto xp = exact<T>(Tensor<float>::uniform({4, 33}, 203, 0.1, 3.0));
  const auto [yp, dxp] = cpu_ref([](const autograd::Var<float>& v) { return autograd::pow(v, 1.5f); }, xp, g);
  check_close(host(unary_scalar(ScalarOp::Pow, dev<T>(xp), 1.5f)), yp, rt, at, "pow 1.5" + tname<T>());
  check_close(host(unary_scalar_backward(ScalarOp::Pow, dev<T>(xp), G, 1.5f)), dxp, rt, at, "pow 1.5 grad" + tname<T>());
  // Non-contiguous input and gradient (transposed views).
  const auto [yt, dxt] = cpu_ref([](const autograd::Var<float>& v) { return autograd::clamp(v, -0.5f, 0.8f); },
                                 x.transpose(0, 1).contiguous(), g.transpose(0, 1).contiguous());
  check_close(host(unary_scalar(ScalarOp::Clamp, X.transpose(0, 1), -0.5f, 0.8f)), yt, rt, at, "clamp transposed");
  check_close(host(unary_scalar_backward(ScalarOp::Clamp, X.transpose(0, 1), G.transpose(0, 1), -0.5f, 0.8f)), dxt, rt,
              at, "clamp grad transposed");
  CHECK_THROWS_AS(unary_scalar(ScalarOp::Clamp, X, 1.0f, -1.0f), Error);  // lo > hi
  CHECK_THROWS_AS(unary_scalar_backward(ScalarOp::Elu, X, X.transpose(0, 1), 1.0f), Error);  // shape mismatch
}

TEMPLATE_TEST_CASE("masked_fill with a broadcast mask vs the CPU autograd op", "[gpu][ops]", float, bf16) {
  using T = TestType;
  const auto x = exact<T>(Tensor<float>::randn({5, 4, 3}, 211)).permute({2, 1, 0});  // (3, 4, 5), non-contiguous
  const auto g = exact<T>(Tensor<float>::randn({3, 4, 5}, 212));
  const auto mask = Tensor<float>::from({4, 1}, {1, 0, 0, 1});
  const auto M = dev<T>(mask), G = dev<T>(g);
  const auto XP = dev<T>(exact<T>(Tensor<float>::randn({5, 4, 3}, 211))).permute({2, 1, 0});  // the same view on device
  for (float value : {-1e9f, -INFINITY, 0.25f}) {
    const auto [y, dx] = cpu_ref([&](const autograd::Var<float>& v) { return autograd::masked_fill(v, mask, value); }, x, g);
    // fp32: exact. bf16: the fill value is rounded to bf16 on store (−1e9 is not bf16-exact).
    check_match(host(masked_fill(XP, M, value)), y, tol<T>(0), 0, "masked_fill" + tname<T>());
    check_match(host(masked_fill_backward(G, M)), dx, 0, 0, "masked_fill grad" + tname<T>());
  }
  CHECK_THROWS_AS(masked_fill(XP, dev<T>(Tensor<float>({2, 5})), 0.0f), Error);
  CHECK_THROWS_AS(masked_fill(XP, dev<T>(Tensor<float>({1, 3, 4, 5})), 0.0f), Error);
}

TEMPLATE_TEST_CASE("sum / mean backward, mean_all and a broadcast bias add vs the CPU autograd ops", "[gpu][ops]", float, bf16) {
  using T = TestType;
  const auto x = exact<T>(Tensor<float>::randn({3, 4, 5}, 221));
  const auto X = dev<T>(x);
  for (int axis = 0; axis < 3; ++axis)
    for (bool keepdim : {false, true})
      for (bool mean : {false, true}) {
        Shape rs = x.shape();
        if (keepdim) rs[axis] = 1;
        else rs.erase(rs.begin() + axis);
        const auto g = exact<T>(Tensor<float>::randn(rs, 222 + axis));
        const auto [y, dx] = cpu_ref(
            [&](const autograd::Var<float>& v) { return mean ? autograd::mean(v, axis, keepdim) : autograd::sum(v, axis, keepdim); },
            x, g);
        const ReduceOp op = mean ? ReduceOp::Mean : ReduceOp::Sum;
        const std::string what = std::string(mean ? "mean" : "sum") + " axis " + std::to_string(axis) + tname<T>();
        check_close(host(reduce(op, X, axis, keepdim)), y, tol<T>(1e-5), tol<T>(1e-5), what);
        check_close(host(reduce_backward(op, dev<T>(g), x.shape(), axis, keepdim)), dx, tol<T>(1e-6), tol<T>(1e-7),
                    what + " grad");
      }
  CHECK_THROWS_AS(reduce_backward(ReduceOp::Max, dev<T>(Tensor<float>({3, 5})), x.shape(), 1), Error);
  CHECK_THROWS_AS(reduce_backward(ReduceOp::Sum, dev<T>(Tensor<float>({3, 4})), x.shape(), 1), Error);

  const auto gs = Tensor<float>::scalar(1.7f);
  const auto [ys, dxs] = cpu_ref([](const autograd::Var<float>& v) { return autograd::sum(v); }, x, gs);
  const auto [ym, dxm] = cpu_ref([](const autograd::Var<float>& v) { return autograd::mean(v); }, x, gs);
  CHECK(mean_all(X).to_host().item() == Approx(ym[0]).margin(1e-5));
  const auto GS = to_device(gs);
  check_close(host(sum_all_backward<T>(GS, x.shape())), dxs, tol<T>(1e-7), 0, "sum_all grad" + tname<T>());
  check_close(host(sum_all_backward<T>(GS, x.shape(), true)), dxm, tol<T>(1e-7), 0, "mean_all grad" + tname<T>());
  CHECK(std::isnan(mean_all(Tensor<T, Cuda>::zeros({0, 3})).to_host().item()));

  // Broadcast bias add (the existing binary Add + sum_to) vs the CPU add: y = x + b, db = Σ_rows g.
  const auto xb = exact<T>(Tensor<float>::randn({6, 7}, 231)), b = exact<T>(Tensor<float>::randn({7}, 232)),
             gb = exact<T>(Tensor<float>::randn({6, 7}, 233));
  autograd::Var<float> xv(xb, true), bv(b, true);
  autograd::add(xv, bv).backward(gb);
  const auto YB = binary(BinaryOp::Add, dev<T>(xb), dev<T>(b));
  check_close(host(YB), dv(autograd::add(xv, bv).value()), tol<T>(1e-6), tol<T>(1e-6), "bias add" + tname<T>());
  check_close(host(sum_to(dev<T>(gb), Shape{7})), dv(bv.grad()), tol<T>(1e-5), tol<T>(1e-5), "bias grad" + tname<T>());
  // broadcast_to itself: b expanded over the rows, times a scale.
  std::vector<double> want;
  for (int r = 0; r < 6; ++r)
    for (double v : dv(b)) want.push_back(0.5 * v);
  check_close(host(broadcast_to(dev<T>(b), Shape{6, 7}, 0.5f)), want, tol<T>(1e-7), 0, "broadcast_to" + tname<T>());
  CHECK_THROWS_AS(broadcast_to(dev<T>(b), Shape{6, 5}), Error);
}

TEMPLATE_TEST_CASE("max with index, argmax and max backward vs the CPU autograd max", "[gpu][ops]", float, bf16) {
  using T = TestType;
  // Rounded values (bf16-exact): ties along every axis, so the first-maximum rule is what is compared.
  auto x0 = Tensor<float>::randn({3, 300, 5}, 241, 2.0);  // axis 1 longer than a block
  for (int64_t i = 0; i < x0.numel(); ++i) x0.data()[i] = std::round(x0.data()[i]);
  const auto x = exact<T>(x0);
  const auto X = dev<T>(x);
  for (int axis = 0; axis < 3; ++axis)
    for (bool keepdim : {false, true}) {
      Shape rs = x.shape();
      if (keepdim) rs[axis] = 1;
      else rs.erase(rs.begin() + axis);
      const auto g = exact<T>(Tensor<float>::randn(rs, 242 + axis));
      const auto [y, dx] = cpu_ref([&](const autograd::Var<float>& v) { return autograd::max(v, axis, keepdim); }, x, g);
      const auto want = backend::cpu::max_with_index(x, axis, keepdim);
      const std::string what = "max axis " + std::to_string(axis) + tname<T>();
      const auto r = max_with_index(X, axis, keepdim);
      CHECK(r.values.shape() == rs);
      CHECK(r.indices.shape() == rs);
      check_close(host(r.values), y, 0, 0, what);
      CHECK(host(r.indices) == want.at);
      CHECK(host(argmax(X, axis, keepdim)) == want.at);
      check_close(host(max_backward(dev<T>(g), r.indices, x.shape(), axis, keepdim)), dx, 0, 0, what + " grad");
    }
  // NaN: chosen (the first one) by max_with_index and propagated by reduce(Max), as on the CPU.
  auto xn = Tensor<float>::from({2, 5}, {1, NAN, 7, NAN, 9, 3, 8, 8, -1, 2});
  const auto rn = max_with_index(dev<T>(xn), 1);
  CHECK(host(rn.indices) == std::vector<int64_t>{1, 1});
  const auto vn = host(rn.values);
  CHECK(std::isnan(vn[0]));
  CHECK(vn[1] == 8.0);
  const auto mn = host(reduce(ReduceOp::Max, dev<T>(xn), 1));
  CHECK(std::isnan(mn[0]));
  CHECK(mn[1] == 8.0);
  CHECK_THROWS_AS(max_with_index(dev<T>(Tensor<float>({2, 0})), 1), Error);
  CHECK_THROWS_AS(max_backward(dev<T>(Tensor<float>({3, 5})), rn.indices, x.shape(), 1), Error);
}

TEMPLATE_TEST_CASE("concat, split, split/slice backward vs the CPU autograd ops", "[gpu][ops]", float, bf16) {
  using T = TestType;
  // Pieces along axis 1: contiguous, a permuted view, and an empty one.
  const auto a = exact<T>(Tensor<float>::randn({2, 4, 3}, 251));
  const auto bh = exact<T>(Tensor<float>::randn({3, 2, 2}, 252));
  const auto b = bh.permute({1, 2, 0});  // (2, 2, 3)
  const auto e = Tensor<float>({2, 0, 3});
  const auto g = exact<T>(Tensor<float>::randn({2, 6, 3}, 253));
  std::vector<autograd::Var<float>> vs{autograd::Var<float>(a, true), autograd::Var<float>(b, true), autograd::Var<float>(e, true)};
  const auto y = autograd::concat(vs, 1);
  y.backward(g);
  const std::vector<Tensor<T, Cuda>> XS{dev<T>(a), dev<T>(bh).permute({1, 2, 0}), dev<T>(e)};
  const auto Y = concat(XS, -2);
  CHECK(Y.shape() == Shape{2, 6, 3});
  check_close(host(Y), dv(y.value()), 0, 0, "concat" + tname<T>());
  const auto GX = concat_backward(dev<T>(g), {4, 2, 0}, 1);
  REQUIRE(GX.size() == 3);
  for (int k = 0; k < 3; ++k) check_close(host(GX[k]), dv(vs[k].grad()), 0, 0, "concat grad " + std::to_string(k) + tname<T>());
  CHECK_THROWS_AS(concat(std::vector<Tensor<T, Cuda>>{dev<T>(a), dev<T>(Tensor<float>({3, 4, 3}))}, 1), Error);
  CHECK_THROWS_AS(concat(std::vector<Tensor<T, Cuda>>{}, 0), Error);

  // split of a non-contiguous input; backward with the middle piece getting no gradient.
  const auto xh = exact<T>(Tensor<float>::randn({6, 2, 3}, 254));
  const auto x = xh.permute({1, 0, 2});  // (2, 6, 3)
  autograd::Var<float> xv(x, true);
  const std::vector<int64_t> sizes{1, 3, 2};
  const auto pieces = autograd::split(xv, sizes, 1);
  const auto P = split(dev<T>(xh).permute({1, 0, 2}), sizes, 1);
  REQUIRE(P.size() == 3);
  for (int k = 0; k < 3; ++k) check_close(host(P[k]), dv(pieces[k].value()), 0, 0, "split " + std::to_string(k) + tname<T>());
  const auto g0 = exact<T>(Tensor<float>::randn({2, 1, 3}, 255)), g2 = exact<T>(Tensor<float>::randn({2, 2, 3}, 256));
  pieces[0].backward(g0);
  pieces[2].backward(g2);
  check_close(host(split_backward(std::vector<Tensor<T, Cuda>>{dev<T>(g0), Tensor<T, Cuda>(), dev<T>(g2)}, x.shape(),
                                  sizes, 1)),
              dv(xv.grad()), 0, 0, "split grad" + tname<T>());
  CHECK_THROWS_AS(split(dev<T>(xh), {1, 2}, 0), Error);  // sizes add up to 3, axis has 6
  CHECK_THROWS_AS(split_backward(std::vector<Tensor<T, Cuda>>{dev<T>(g2), dev<T>(g0), Tensor<T, Cuda>()}, x.shape(), sizes, 1),
                  Error);  // piece shapes do not match sizes

  // slice backward vs the CPU slice.
  autograd::Var<float> zv(exact<T>(Tensor<float>::randn({4, 7}, 257)), true);
  const auto gs = exact<T>(Tensor<float>::randn({4, 3}, 258));
  autograd::slice(zv, 1, 2, 5).backward(gs);
  check_close(host(slice_backward(dev<T>(gs), Shape{4, 7}, 1, 2)), dv(zv.grad()), 0, 0, "slice grad" + tname<T>());
  CHECK_THROWS_AS(slice_backward(dev<T>(gs), Shape{4, 7}, 1, 5), Error);  // [5, 8) is outside
}
