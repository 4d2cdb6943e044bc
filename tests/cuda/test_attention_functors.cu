// The attention policy functors (score kernels, row stages, vector stages, feature maps, window predicates) run on
// the device and agree with the same functors on the host. nvcc compiles this in CI, so every __host__ __device__
// policy is proven device-compilable even without a GPU; with one, the values are compared too.
#include <catch2/catch.hpp>
#include <cuda_runtime.h>

#include <cmath>
#include <string>
#include <vector>

#include "sinklab/attention/kernel.hpp"
#include "sinklab/attention/normalizer.hpp"
#include "sinklab/attention/window.hpp"
#include "sinklab/backend/cuda/check.cuh"

namespace attn = sinklab::attention;
namespace kern = sinklab::attention::kernel;

namespace {

template <class T>
struct DeviceBuffer {
  T* p = nullptr;
  std::size_t n = 0;
  explicit DeviceBuffer(const std::vector<T>& h) : n(h.size()) {
    SINKLAB_CUDA_CHECK(cudaMalloc(&p, n * sizeof(T)));
    SINKLAB_CUDA_CHECK(cudaMemcpy(p, h.data(), n * sizeof(T), cudaMemcpyHostToDevice));
  }
  explicit DeviceBuffer(std::size_t count) : n(count) { SINKLAB_CUDA_CHECK(cudaMalloc(&p, n * sizeof(T))); }
  ~DeviceBuffer() { cudaFree(p); }
  std::vector<T> host() const {
    std::vector<T> h(n);
    SINKLAB_CUDA_CHECK(cudaMemcpy(h.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost));
    return h;
  }
};

void check_near(const std::vector<float>& dev, const std::vector<float>& host, const std::string& what) {
  REQUIRE(dev.size() == host.size());
  for (std::size_t i = 0; i < dev.size(); ++i) {
    INFO(what << " [" << i << "]: device " << dev[i] << " host " << host[i]);
    // device expf/logf are within 2 ulp of the host's; everything else is the same arithmetic
    REQUIRE(std::abs(dev[i] - host[i]) <= 1e-5f * std::max(1.0f, std::abs(host[i])));
  }
}

// Score kernels: weight, dweight, mass, dmass and the score offset, at scores s under a running max m. The offset
// sees a row of `rows` visible keys in a sequence of `seq_len`, two different counts, so either one may be used.
template <class K>
__global__ void score_kernel_eval(const float* s, const float* m, int n, int rows, int seq_len, float* out) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const float off = K::row_offset(rows, seq_len, 0.0f);
  out[5 * i + 0] = K::weight(s[i] + off, m[i]);
  out[5 * i + 1] = K::dweight(s[i] + off, m[i]);
  out[5 * i + 2] = K::mass(s[i] + off, m[i]);
  out[5 * i + 3] = K::dmass(s[i] + off, m[i]);
  out[5 * i + 4] = off;
}

template <class K>
void check_score_kernel(const char* what) {
  std::vector<float> s, m;
  for (int i = -40; i <= 40; ++i) {
    s.push_back(0.25f * float(i));
    m.push_back(K::shift_equivariant ? 0.25f * float(i) + 1.5f : 0.0f);  // shifted kernels: s <= m
  }
  const int n = int(s.size()), rows = 37, seq_len = 50;
  std::vector<float> want(5 * n);
  for (int i = 0; i < n; ++i) {
    const float off = K::row_offset(rows, seq_len, 0.0f);
    want[5 * i + 0] = K::weight(s[i] + off, m[i]);
    want[5 * i + 1] = K::dweight(s[i] + off, m[i]);
    want[5 * i + 2] = K::mass(s[i] + off, m[i]);
    want[5 * i + 3] = K::dmass(s[i] + off, m[i]);
    want[5 * i + 4] = off;
  }
  DeviceBuffer<float> ds(s), dm(m), out(std::size_t(5 * n));
  score_kernel_eval<K><<<(n + 127) / 128, 128>>>(ds.p, dm.p, n, rows, seq_len, out.p);
  SINKLAB_CUDA_CHECK(cudaGetLastError());
  SINKLAB_CUDA_CHECK(cudaDeviceSynchronize());
  check_near(out.host(), want, what);
}

// Row stages: ρ and ∂ρ/∂ℓ for a grid of (ℓ, n, m, b).
template <class R>
__global__ void row_stage_eval(const float* l, int n, float* out) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  out[2 * i] = R::rho(l[i], 1 + i % 9, -0.5f, 0.3f);
  out[2 * i + 1] = R::drho_dl(l[i], 1 + i % 9, -0.5f, 0.3f);
}

template <class R>
void check_row_stage(const char* what) {
  std::vector<float> l;
  for (int i = -20; i <= 20; ++i) l.push_back(0.37f * float(i));
  const int n = int(l.size());
  std::vector<float> want(2 * n);
  for (int i = 0; i < n; ++i) {
    want[2 * i] = R::rho(l[i], 1 + i % 9, -0.5f, 0.3f);
    want[2 * i + 1] = R::drho_dl(l[i], 1 + i % 9, -0.5f, 0.3f);
  }
  DeviceBuffer<float> dl(l), out(std::size_t(2 * n));
  row_stage_eval<R><<<1, 64>>>(dl.p, n, out.p);
  SINKLAB_CUDA_CHECK(cudaGetLastError());
  SINKLAB_CUDA_CHECK(cudaDeviceSynchronize());
  check_near(out.host(), want, what);
}

// Vector stages: forward z = N(y) and backward dy (and dw, db) over rows of D, one row per thread.
constexpr int kD = 64, kRows = 8;
template <class N>
__global__ void vec_stage_eval(const float* y, const float* dz, const float* w, const float* b, float* z, float* dy,
                               float* dw, float* db) {
  const int r = threadIdx.x;
  if (r >= kRows) return;
  const float sigma = 0.25f * float(r);  // the shifted-domain exponent the fused op passes
  N::forward(y + r * kD, z + r * kD, kD, sigma, w, b);
  N::backward(y + r * kD, dz + r * kD, dy + r * kD, kD, sigma, w, dw + r * kD, db + r * kD);
}

template <class N>
void check_vec_stage(const char* what) {
  std::vector<float> y(kRows * kD), dz(kRows * kD), w(kD), b(kD);
  for (int i = 0; i < kRows * kD; ++i) y[i] = std::sin(0.37f * float(i)), dz[i] = std::cos(0.11f * float(i));
  for (int d = 0; d < kD; ++d) w[d] = 1.0f + 0.01f * float(d), b[d] = 0.02f * float(d % 7);
  std::vector<float> z(kRows * kD), dy(kRows * kD), dw(kRows * kD, 0.0f), db(kRows * kD, 0.0f);
  for (int r = 0; r < kRows; ++r) {
    N::forward(y.data() + r * kD, z.data() + r * kD, kD, 0.25f * float(r), w.data(), b.data());
    N::backward(y.data() + r * kD, dz.data() + r * kD, dy.data() + r * kD, kD, 0.25f * float(r), w.data(),
                dw.data() + r * kD, db.data() + r * kD);
  }
  DeviceBuffer<float> Y(y), DZ(dz), W(w), Bv(b), Z(y.size()), DY(y.size()), DW(std::vector<float>(y.size(), 0.0f)),
      DB(std::vector<float>(y.size(), 0.0f));
  vec_stage_eval<N><<<1, 32>>>(Y.p, DZ.p, W.p, Bv.p, Z.p, DY.p, DW.p, DB.p);
  SINKLAB_CUDA_CHECK(cudaGetLastError());
  SINKLAB_CUDA_CHECK(cudaDeviceSynchronize());
  check_near(Z.host(), z, std::string(what) + " forward");
  check_near(DY.host(), dy, std::string(what) + " backward dy");
  check_near(DW.host(), dw, std::string(what) + " backward dw");
  check_near(DB.host(), db, std::string(what) + " backward db");
}

// Feature maps φ, forward and backward, one row per thread (SharedMLP with small weights).
template <class Phi>
__global__ void phi_eval(const float* x, const float* dy, const float* w1, const float* w2, float* y, float* dx,
                         float* dw1, float* dw2) {
  const int r = threadIdx.x;
  if (r >= kRows) return;
  const kern::PhiParams<float> p{w1, w2};
  Phi::forward(x + r * kD, y + r * kD, kD, p);
  Phi::backward(x + r * kD, dy + r * kD, dx + r * kD, kD, p, dw1 + r * kD * kD, dw2 + r * kD * kD);
}

template <class Phi>
void check_phi(const char* what) {
  std::vector<float> x(kRows * kD), dy(kRows * kD), w1(kD * kD), w2(kD * kD);
  for (int i = 0; i < kRows * kD; ++i) x[i] = std::sin(0.21f * float(i)), dy[i] = std::cos(0.17f * float(i));
  for (int i = 0; i < kD * kD; ++i) w1[i] = 0.1f * std::sin(0.05f * float(i)), w2[i] = 0.1f * std::cos(0.07f * float(i));
  const kern::PhiParams<float> p{w1.data(), w2.data()};
  std::vector<float> y(x.size()), dx(x.size()), dw1(std::size_t(kRows) * kD * kD, 0.0f), dw2(dw1.size(), 0.0f);
  for (int r = 0; r < kRows; ++r) {
    Phi::forward(x.data() + r * kD, y.data() + r * kD, kD, p);
    Phi::backward(x.data() + r * kD, dy.data() + r * kD, dx.data() + r * kD, kD, p, dw1.data() + r * kD * kD,
                  dw2.data() + r * kD * kD);
  }
  DeviceBuffer<float> X(x), DYb(dy), W1(w1), W2(w2), Y(x.size()), DX(x.size()), DW1(std::vector<float>(dw1.size(), 0.0f)),
      DW2(std::vector<float>(dw2.size(), 0.0f));
  phi_eval<Phi><<<1, 32>>>(X.p, DYb.p, W1.p, W2.p, Y.p, DX.p, DW1.p, DW2.p);
  SINKLAB_CUDA_CHECK(cudaGetLastError());
  SINKLAB_CUDA_CHECK(cudaDeviceSynchronize());
  check_near(Y.host(), y, std::string(what) + " forward");
  check_near(DX.host(), dx, std::string(what) + " backward");
  if (Phi::learnable) {
    check_near(DW1.host(), dw1, std::string(what) + " dw1");
    check_near(DW2.host(), dw2, std::string(what) + " dw2");
  }
}

// Window predicates: visible(i, j) and count(i, S) for every mask kind.
__global__ void window_eval(attn::Window w, int S, int* vis, int* cnt) {
  const int i = blockIdx.x, j = threadIdx.x;
  if (i >= S || j >= S) return;
  vis[i * S + j] = w.visible(i, j) ? 1 : 0;
  if (j == 0) cnt[i] = w.count(i, S);
}

}  // namespace

TEST_CASE("attention score kernels agree on device and host", "[gpu][attention]") {
  check_score_kernel<kern::Exp>("Exp");
  check_score_kernel<kern::ClampedExp<5>>("ClampedExp<5>");
  check_score_kernel<kern::TaylorExp<80>>("TaylorExp<80>");
  check_score_kernel<kern::Sigmoid<>>("Sigmoid");
  check_score_kernel<kern::Sigmoid<kern::SigmoidBias::minus_log_n>>("Sigmoid(-log n)");
  check_score_kernel<kern::Sigmoid<kern::SigmoidBias::minus_log_n_i>>("Sigmoid(-log n_i)");
  check_score_kernel<kern::EluPlus1>("EluPlus1");
  check_score_kernel<kern::Relu>("Relu");
  check_score_kernel<kern::ClampedRelu<5>>("ClampedRelu<5>");
  check_score_kernel<kern::Softpick>("Softpick");
}

TEST_CASE("attention row stages agree on device and host", "[gpu][attention]") {
  check_row_stage<attn::row::RowSum<>>("RowSum");
  check_row_stage<attn::row::RowSum<1e-8>>("RowSum<1e-8>");
  check_row_stage<attn::row::RowSumClampMin1>("RowSumClampMin1");
  check_row_stage<attn::row::AbsRowSumClampMin1>("AbsRowSumClampMin1");
  check_row_stage<attn::row::DivCount>("DivCount");
  check_row_stage<attn::row::None>("None");
  check_row_stage<attn::row::RowSumPlusSink<attn::row::SinkLogit::unit>>("RowSumPlusSink(unit)");
  check_row_stage<attn::row::RowSumPlusSink<attn::row::SinkLogit::learned>>("RowSumPlusSink(learned)");
}

TEST_CASE("attention vector stages agree on device and host", "[gpu][attention]") {
  check_vec_stage<attn::vec::L2>("L2");
  check_vec_stage<attn::vec::RMSNorm<>>("RMSNorm");
  check_vec_stage<attn::vec::LayerNorm<>>("LayerNorm");
}

TEST_CASE("attention feature maps agree on device and host", "[gpu][attention]") {
  check_phi<kern::phi::Identity>("identity");
  check_phi<kern::phi::EluPlus1>("elu+1");
  check_phi<kern::phi::Relu>("relu");
  check_phi<kern::phi::L2Normalize>("l2normalize");
  check_phi<kern::phi::SharedMLP>("mlp");
}

TEST_CASE("attention window predicates agree on device and host", "[gpu][attention]") {
  const int S = 50;
  for (auto mask : {attn::MaskKind::causal, attn::MaskKind::sliding, attn::MaskKind::prefix, attn::MaskKind::full}) {
    attn::WindowSpec spec;
    spec.mask = mask, spec.window = 7, spec.prefix = 5;
    const attn::Window w = attn::Window::from(spec, S);
    DeviceBuffer<int> vis{std::size_t(S) * S}, cnt{std::size_t(S)};
    window_eval<<<S, 64>>>(w, S, vis.p, cnt.p);
    SINKLAB_CUDA_CHECK(cudaGetLastError());
    SINKLAB_CUDA_CHECK(cudaDeviceSynchronize());
    const auto v = vis.host(), c = cnt.host();
    for (int i = 0; i < S; ++i) {
      REQUIRE(c[i] == w.count(i, S));
      for (int j = 0; j < S; ++j) REQUIRE(v[i * S + j] == (w.visible(i, j) ? 1 : 0));
    }
  }
}
