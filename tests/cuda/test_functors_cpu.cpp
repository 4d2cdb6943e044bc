// CPU checks of the math the CUDA kernels run (backend/functors) and of the CUDA backend's host-side logic
// (caching-pool bookkeeping, row-major → cuBLAS plan), against plain double formulas. Compiled with g++ only.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "sinklab/backend/cuda/caching_pool.hpp"
#include "sinklab/backend/cuda/gemm_plan.hpp"
#include "sinklab/backend/functors/all.hpp"
#include "sinklab/core/rng.hpp"

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

// --- host-side logic of the CUDA backend -----------------------------------------------------------------------

namespace {
struct FakeBackend {
  using Stream = int;
  using Event = int;
  int next = 1, allocs = 0, frees = 0, records = 0, waits = 0, live_events = 0;
  std::size_t budget = std::size_t(1) << 40;  // alloc fails past this many bytes in use
  std::size_t in_use = 0;
  std::vector<std::pair<Stream, Event>> waited;
  std::vector<std::pair<void*, std::size_t>> blocks;
  void* alloc(std::size_t n) {
    if (in_use + n > budget) return nullptr;
    ++allocs;
    in_use += n;
    void* p = reinterpret_cast<void*>(std::uintptr_t(0x1000) * std::uintptr_t(next++));
    blocks.emplace_back(p, n);
    return p;
  }
  void free(void* p) {
    ++frees;
    for (auto& [q, n] : blocks)
      if (q == p) in_use -= n, n = 0;
  }
  Event record(Stream) { return ++records, ++live_events, records; }
  void wait(Stream s, Event e) { ++waits, waited.emplace_back(s, e); }
  void destroy(Event) { --live_events; }
};
using Pool = backend::cuda::CachingPool<FakeBackend>;
}  // namespace

TEST_CASE("size classes round small requests to 512 B and large to 2 MiB", "[cuda][allocator]") {
  using backend::cuda::size_class;
  CHECK(size_class(0) == 512);
  CHECK(size_class(1) == 512);
  CHECK(size_class(513) == 1024);
  CHECK(size_class((1 << 20) - 1) == (1 << 20));
  CHECK(size_class(1 << 20) == (2 << 20));
  CHECK(size_class((2 << 20) + 1) == (4 << 20));
}

TEST_CASE("caching pool reuses freed blocks on the same stream without events", "[cuda][allocator]") {
  Pool pool;
  void* a = pool.allocate(1000, 0);
  pool.deallocate(a);
  void* b = pool.allocate(900, 0);  // same class (1024)
  CHECK(b == a);
  auto st = pool.stats();
  CHECK(st.num_device_allocs == 1);
  CHECK(st.num_cache_hits == 1);
  CHECK(st.allocated_bytes == 1024);
  CHECK(st.requested_bytes == 900);
  CHECK(pool.backend().records == 0);
  void* c = pool.allocate(5000, 0);  // different class: fresh allocation
  CHECK(c != a);
  CHECK(pool.stats().reserved_bytes == 1024 + 5120);
  CHECK(pool.stats().peak_allocated_bytes == 1024 + 5120);
  pool.deallocate(b);
  pool.deallocate(c);
  CHECK(pool.stats().allocated_bytes == 0);
  CHECK(pool.cached_blocks() == 2);
  pool.empty_cache();
  CHECK(pool.cached_blocks() == 0);
  CHECK(pool.stats().reserved_bytes == 0);
  CHECK(pool.backend().frees == 2);
  CHECK_THROWS_AS(pool.deallocate(reinterpret_cast<void*>(0x42)), Error);
}

TEST_CASE("caching pool orders cross-stream reuse with an event", "[cuda][allocator]") {
  Pool pool;
  void* a = pool.allocate(4096, /*stream*/ 1);
  pool.deallocate(a);
  void* b = pool.allocate(4096, /*stream*/ 2);
  CHECK(b == a);
  REQUIRE(pool.backend().waited.size() == 1);
  CHECK(pool.backend().waited[0].first == 2);  // the new stream waits on an event recorded on stream 1
  CHECK(pool.backend().live_events == 0);      // and the event is released
  // A block last used on the requesting stream is preferred over one from another stream.
  void* c = pool.allocate(4096, 3);
  pool.deallocate(b);  // last used on 2
  pool.deallocate(c);  // last used on 3
  CHECK(pool.allocate(4096, 3) == c);
  CHECK(pool.backend().waits == 1);
}

TEST_CASE("caching pool empties its cache and retries when the device is full", "[cuda][allocator]") {
  Pool pool;
  pool.backend().budget = 4 << 20;
  void* a = pool.allocate(3 << 20, 0);  // class 4 MiB: the whole budget
  pool.deallocate(a);
  void* b = pool.allocate(1 << 20, 0);  // class 2 MiB: fails, frees the cached 4 MiB, succeeds
  CHECK(b != nullptr);
  CHECK(pool.backend().frees == 1);
  CHECK_THROWS_AS(pool.allocate(3 << 20, 0), Error);  // genuinely out of memory: names the sizes
}

TEST_CASE("row-major GEMM plan reproduces a row-major product via column-major BLAS", "[cuda][gemm]") {
  using namespace sinklab::backend::cuda;
  // Column-major reference BLAS with per-batch strides, as cuBLASLt would run the plan.
  auto colmajor_gemm = [](const LtPlan& q, const std::vector<double>& A, const std::vector<double>& B,
                          std::vector<double>& C) {
    for (int64_t bt = 0; bt < q.batch; ++bt)
      for (int64_t i = 0; i < q.m; ++i)
        for (int64_t j = 0; j < q.n; ++j) {
          double acc = 0;
          for (int64_t l = 0; l < q.k; ++l) {
            const double a = q.trans_a ? A[bt * q.a.batch_stride + l + i * q.a.ld] : A[bt * q.a.batch_stride + i + l * q.a.ld];
            const double b = q.trans_b ? B[bt * q.b.batch_stride + j + l * q.b.ld] : B[bt * q.b.batch_stride + l + j * q.b.ld];
            acc += a * b;
          }
          C[bt * q.c.batch_stride + i + j * q.c.ld] = acc;
        }
  };
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      const int64_t m = 3, n = 5, k = 4, batch = 2;
      GemmProblem p;
      p.trans_a = ta, p.trans_b = tb, p.m = m, p.n = n, p.k = k, p.batch = batch;
      p.lda = ta ? m : k;
      p.ldb = tb ? k : n;
      p.ldc = n;
      p.stride_a = m * k, p.stride_b = k * n, p.stride_c = m * n;
      const auto A = randv(int(batch * m * k), 41), B = randv(int(batch * k * n), 42);
      std::vector<double> C(batch * m * n, 0.0);
      const LtPlan q = plan_gemm(p);
      // Layout sanity: the stored operand's rows × cols in column-major terms.
      CHECK(q.a.rows * q.a.cols == k * n);
      CHECK(q.b.rows * q.b.cols == m * k);
      CHECK((q.c.rows == n && q.c.cols == m));
      colmajor_gemm(q, B, A, C);  // A' = B, B' = A
      for (int64_t bt = 0; bt < batch; ++bt)
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) {
            double want = 0;
            for (int64_t l = 0; l < k; ++l) {
              const double a = ta ? A[bt * m * k + l * m + i] : A[bt * m * k + i * k + l];
              const double b = tb ? B[bt * k * n + j * k + l] : B[bt * k * n + l * n + j];
              want += a * b;
            }
            CHECK(C[bt * m * n + i * n + j] == Approx(want).margin(1e-12));
          }
    }
  GemmProblem p1, p2;
  p1.m = p2.m = 8;
  p2.k = 3;
  CHECK(GemmKey{p1} == GemmKey{p1});
  CHECK(!(GemmKey{p1} == GemmKey{p2}));
  CHECK(GemmKeyHash{}(GemmKey{p1}) != GemmKeyHash{}(GemmKey{p2}));
}
