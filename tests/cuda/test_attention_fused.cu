// The fused CUDA attention op against the fused CPU op (AnyAttention<float>) on the same inputs: o, the saved
// statistics (m, ℓ', ũ) and every gradient, for every registered variant × {causal, sliding window, prefix LM} ×
// shapes with S not a tile multiple and D ∈ {32, 64, 96, 128, 192} (GQA included), plus score biases and sink slots.
//
// One source, two builds (tests/cuda/CMakeLists.txt):
//   * nvcc, test_attention_fused (label gpu): the sharded kernels of sinklab_cuda through attention_cuda_ops();
//     without a device the runner prints why and exits 0.
//   * g++ with SINKLAB_CUDA_EMULATE, cuda_attention_fused_emulated (label cpu): the same kernel source run on the
//     CPU emulator (src/cuda/emu/cuda_emu.hpp), on a smaller matrix — tiling, masking, shifting, GQA and
//     slot bookkeeping of the CUDA kernels checked on every CI run.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#if defined(SINKLAB_CUDA_EMULATE)
#include "../../src/cuda/emu/cuda_emu.hpp"
#include "sinklab/attention/fused_cuda.cuh"
#else
#include <cuda_runtime.h>

#include "sinklab/attention/any_attention_cuda.hpp"
#include "sinklab/backend/cuda/check.cuh"
#endif

#include "attention/problem.hpp"

using namespace sinklab::test;
namespace attn = sinklab::attention;

namespace {

// ---- the op under test, and device memory ---------------------------------------------------------------------
struct CudaOps {
  void (*forward)(const attn::AttentionParams<float>&, const attn::Inputs<float>&, attn::Outputs<float>&,
                  cudaStream_t, attn::CudaMath);
  void (*backward)(const attn::AttentionParams<float>&, const attn::Inputs<float>&, const attn::Saved<float>&,
                   const float*, attn::Grads<float>&, cudaStream_t, attn::CudaMath);
};

#if defined(SINKLAB_CUDA_EMULATE)
template <class V>
void emu_forward(const attn::AttentionParams<float>& p, const attn::Inputs<float>& in, attn::Outputs<float>& out,
                 cudaStream_t s, attn::CudaMath math) {
  attn::fused_forward_cuda<V, float>(p, in, out, s, math);
}
template <class V>
void emu_backward(const attn::AttentionParams<float>& p, const attn::Inputs<float>& in,
                  const attn::Saved<float>& sv, const float* dout, attn::Grads<float>& g, cudaStream_t s,
                  attn::CudaMath math) {
  attn::fused_backward_cuda<V, float>(p, in, sv, dout, g, s, math);
}
CudaOps cuda_ops(std::size_t row) {
  CudaOps ops{};
  attn::visit_variant(attn::variant_table[row].name, [&]<class V>() { ops = {&emu_forward<V>, &emu_backward<V>}; });
  return ops;
}
constexpr bool emulated = true;

template <class T>
T* to_device(const std::vector<T>& h) {
  if (h.empty()) return nullptr;
  T* p = static_cast<T*>(sinklab_emu::dev_alloc(h.size() * sizeof(T), nullptr));
  std::copy(h.begin(), h.end(), p);
  return p;
}
template <class T>
T* device_nan(std::size_t n) {  // outputs start as NaN: whatever the op leaves unwritten fails the comparison
  return n ? static_cast<T*>(sinklab_emu::dev_alloc(n * sizeof(T), nullptr)) : nullptr;
}
template <class T>
void to_host(std::vector<T>& h, const T* p) {
  if (!h.empty()) std::copy(p, p + h.size(), h.begin());
}
void device_free(void* p) { sinklab_emu::dev_free(p); }
void sync() {}
#else
CudaOps cuda_ops(std::size_t row) {
  const auto& o = attn::attention_cuda_ops(row).f32;
  return {o.forward, o.backward};
}
constexpr bool emulated = false;

template <class T>
T* to_device(const std::vector<T>& h) {
  if (h.empty()) return nullptr;
  T* p = nullptr;
  SINKLAB_CUDA_CHECK(cudaMalloc(&p, h.size() * sizeof(T)));
  SINKLAB_CUDA_CHECK(cudaMemcpy(p, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice));
  return p;
}
template <class T>
T* device_nan(std::size_t n) {
  if (!n) return nullptr;
  T* p = nullptr;
  SINKLAB_CUDA_CHECK(cudaMalloc(&p, n * sizeof(T)));
  SINKLAB_CUDA_CHECK(cudaMemset(p, 0xff, n * sizeof(T)));
  return p;
}
template <class T>
void to_host(std::vector<T>& h, const T* p) {
  if (!h.empty()) SINKLAB_CUDA_CHECK(cudaMemcpy(h.data(), p, h.size() * sizeof(T), cudaMemcpyDeviceToHost));
}
void device_free(void* p) { cudaFree(p); }
void sync() { SINKLAB_CUDA_CHECK(cudaDeviceSynchronize()); }
#endif

// Device copies of a Problem's inputs and room for every output; frees on scope exit.
struct DeviceProblem {
  std::vector<void*> owned;
  attn::Inputs<float> in{};
  attn::Outputs<float> out{};
  attn::Grads<float> g{};
  const float* dout = nullptr;

  template <class T>
  T* keep(T* p) {
    if (p) owned.push_back(p);
    return p;
  }
  explicit DeviceProblem(const Problem<float>& pr) {
    in.q = keep(to_device(pr.q)), in.k = keep(to_device(pr.k)), in.v = keep(to_device(pr.v));
    for (const auto& sp : pr.specs) in.set(sp, keep(to_device(pr.at(sp.key))));  // the variant's own tensors
    dout = keep(to_device(pr.dout));
    const auto& p = pr.p;
    out.o = keep(device_nan<float>(p.q_size()));
    out.saved.row_max = keep(device_nan<float>(p.row_count()));
    out.saved.row_sum = keep(device_nan<float>(p.row_count()));
    out.saved.pre_norm = keep(device_nan<float>(p.q_size()));
    g.dq = keep(device_nan<float>(pr.q.size())), g.dk = keep(device_nan<float>(pr.k.size()));
    g.dv = keep(device_nan<float>(pr.v.size()));
    for (const auto& sp : pr.specs) g.set(sp, keep(device_nan<float>(pr.at(sp.key).size())));
  }
  DeviceProblem(const DeviceProblem&) = delete;
  DeviceProblem& operator=(const DeviceProblem&) = delete;
  ~DeviceProblem() {
    for (void* p : owned) device_free(p);
  }

  Result<float> download(const Problem<float>& pr) const {
    Result<float> r;
    r.size_like(pr);
    to_host(r.o, out.o), to_host(r.m, out.saved.row_max), to_host(r.l, out.saved.row_sum);
    to_host(r.u, out.saved.pre_norm);
    to_host(r.dq, g.dq), to_host(r.dk, g.dk), to_host(r.dv, g.dv);
    for (const auto& sp : pr.specs) to_host(r.dextra.find(sp.key)->second, g[sp]);
    return r;
  }
};

// ---- the matrix ---------------------------------------------------------------------------------------------
struct Shape {
  int B, H, Hkv, S, D;
};
// S = 130: three 64-query tiles (the last has 2 rows) and, in the backward, three 64-key (D ≤ 128) or five 32-key
// (D = 192) tiles; the sliding window (w = 20) skips whole key tiles, the prefix (p = 10) puts visible keys into
// tiles above the diagonal.
constexpr Shape gpu_shapes[] = {{1, 2, 1, 130, 32}, {2, 2, 2, 130, 64}, {1, 4, 2, 130, 96},
                                {1, 2, 1, 130, 128}, {1, 1, 1, 130, 192}};
// B = 2 in the emulator too: the tile kernels fold (block, head, batch) into blockIdx.x (Note [tile grid]).
constexpr Shape emu_shapes[] = {{1, 2, 1, 130, 32}, {2, 2, 1, 70, 96}, {1, 1, 1, 70, 192}};
// The tolerance of check_rel (problem.hpp): |a − b| ≤ tol·(|b| + 0.1·max|b| + 1e-2). Two fp32 computations in
// different summation orders: on this matrix the emulator needs at most 5.2e-5 (kernel_linear_norm dk, D = 192,
// where the CPU op itself is 2.7e-5 from float64), so 2e-4 leaves room for the device's exp/log ulps.
constexpr double tol = 2e-4;
// A headwise gate in front of a scale-invariant norm has no gradient in exact arithmetic (up to the norm's eps):
// dg_out_i = Σ_d dy_d·ũ_d is then the rounding residue of a cancelling sum, whose terms are of the size of
// Σ_d |do_d·o_d|. It is compared with an absolute floor of 1e-5 of that (≈ 100 float ulps of the terms).
constexpr double tol_cancelling = 2e-3, cancel_floor = 1e-5;
// CudaMath::bf16_tensor_cores rounds the GEMM operands to bf16 (relative 2^-9). The inputs q, k, v (and slots)
// are made bf16-representable first, so the scores agree with the CPU op's to fp32 rounding and only P, da', dS
// (and φ(q), φ(k) of feature kernels) are rounded; the comparison is norm-wise, ‖got − want‖₂ / ‖want‖₂ ≤ tol_tc
// per array, since elementwise bounds fail near the kinks of κ and ρ (Softpick's e^s − 1 at 0, ReLU, the |Σ| and
// max(·, 1) of AbsRowSumClampMin1), where a rounded value lands on the other side and a derivative jumps.
constexpr double tol_tc = 3e-2, cancel_floor_tc = 3e-3;

// fp32 against fp32 CPU, elementwise: check_rel's bound plus 4× the CPU op's own distance from float64. Where the
// problem is ill-conditioned (a Softpick row whose only visible key has e^s − 1 near 0, a score at a kink of κ)
// two fp32 summation orders legitimately differ by more than tol; the CPU's error there measures the conditioning.
void check_rel_conditioned(const std::vector<float>& got, const std::vector<float>& want,
                           const std::vector<double>& ref, double tol, const std::string& what) {
  REQUIRE(got.size() == want.size());
  REQUIRE(ref.size() == want.size());
  double mx = 0;
  for (float w : want) mx = std::max(mx, std::abs(double(w)));
  std::size_t bad = 0;
  std::ostringstream first;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double g = got[i], w = want[i], d = std::abs(g - w);
    const double bound = tol * (std::abs(w) + 0.1 * mx + 1e-2) + 4.0 * std::abs(w - ref[i]);
    if (!(d <= bound)) {  // NaN fails too
      if (bad < 8) first << "  [" << i << "] got " << g << " want " << w << " float64 " << ref[i] << "\n";
      ++bad;
    }
  }
  if (bad) FAIL(what << ": " << bad << " of " << got.size() << " elements differ\n" << first.str());
  SUCCEED();
}

void check_norm(const std::vector<float>& a, const std::vector<float>& b, double tol, const std::string& what) {
  REQUIRE(a.size() == b.size());
  double num = 0, den = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double d = double(a[i]) - double(b[i]);
    num += d * d, den += double(b[i]) * double(b[i]);
  }
  const double rel = std::sqrt(num / std::max(den, 1e-300));
  INFO(what << ": |got - want| / |want| = " << rel << " (tolerance " << tol << ")");
  CHECK(rel <= tol);  // false for NaN too
}

bool gate_gradient_cancels(std::size_t row) {
  bool r = false;
  attn::visit_variant(attn::variant_table[row].name, [&]<class V>() {
    using G = typename V::gate;
    r = G::has_out && !G::out_elementwise && G::out_pre_norm && V::scale_invariant;
  });
  return r;
}

attn::WindowSpec mask_spec(int which) {
  attn::WindowSpec w;
  if (which == 1) w.mask = attn::MaskKind::sliding, w.window = 20;
  if (which == 2) w.mask = attn::MaskKind::prefix, w.prefix = 10;
  return w;
}

// x rounded to the nearest bf16 (ties to even), kept as float.
float round_bf16(float x) {
  std::uint32_t u;
  std::memcpy(&u, &x, 4);
  u = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
  std::memcpy(&x, &u, 4);
  return x;
}

void run_case(const attn::AnyAttention<float>& a, const Shape& sh, std::uint64_t seed,
              attn::CudaMath math = attn::CudaMath::fp32) {
  const bool tc = math == attn::CudaMath::bf16_tensor_cores && (sh.D == 64 || sh.D == 128);
  auto compare = [&](const std::vector<float>& x, const std::vector<float>& y, const std::vector<double>& r,
                     const std::string& name) {
    if (tc)
      check_norm(x, y, tol_tc, name);
    else
      check_rel_conditioned(x, y, r, tol, name);
  };
  Problem<float> pr = make_problem<float>(a, sh.B, sh.H, sh.Hkv, sh.S, sh.D, seed);
  if (tc)  // bf16-representable q, k, v: the tensor-core scores then match the CPU's to fp32 summation order
    for (auto* x : {&pr.q, &pr.k, &pr.v})
      for (auto& e : *x) e = round_bf16(e);
  if (tc)  // and the slots', which the tiles read as keys and values
    for (const char* key : {"k_slot", "v_slot"})
      if (pr.has(key))
        for (auto& e : pr.at(key)) e = round_bf16(e);
  const Result<float> want = run_fused(a, pr);  // the CPU fused op
  const Result<double> ref = run_fused(a, pr.cast<double>());  // and in float64, for the conditioning
  const CudaOps ops = cuda_ops(a.index());
  DeviceProblem dp(pr);
  auto p = pr.p;
  p.window = a.window();
  ops.forward(p, dp.in, dp.out, nullptr, math);
  ops.backward(p, dp.in, dp.out.saved, dp.dout, dp.g, nullptr, math);
  sync();
  const Result<float> got = dp.download(pr);
  const std::string what = describe(a, sh.S, sh.D) + " B=" + std::to_string(sh.B) + " H=" + std::to_string(sh.H) +
                           "/" + std::to_string(sh.Hkv) + (tc ? " bf16 tensor cores" : "") +
                           (emulated ? " (emulated)" : "");
  compare(got.m, want.m, ref.m, what + " saved.row_max");
  compare(got.l, want.l, ref.l, what + " saved.row_sum");
  compare(got.u, want.u, ref.u, what + " saved.pre_norm");
  compare(got.o, want.o, ref.o, what + " o");
  const auto g = got.grad_list(), w = want.grad_list();
  const auto rg = ref.grad_list();
  REQUIRE(g.size() == w.size());
  REQUIRE(rg.size() == w.size());
  const bool cancels = gate_gradient_cancels(a.index());
  double terms = 0;  // max_i Σ_d |do_id·o_id|
  for (std::size_t r = 0; r < pr.p.row_count(); ++r) {
    double t = 0;
    for (int d = 0; d < sh.D; ++d) t += std::abs(double(pr.dout[r * sh.D + d]) * want.o[r * sh.D + d]);
    terms = std::max(terms, t);
  }
  // θ of a query-scaled kernel (Note [query scale]): dθ_h = Σ_{b,i,d} q'·dq' cancels, and the tensor cores round
  // q' = e^θ q to bf16 (q itself is bf16 here, q' is not), moving every score by up to 2⁻⁹ of itself. So its bound
  // is relative to the sum of the terms' magnitudes, Σ |q·dq| (= Σ |q'·dq'|) per head, at 2⁻⁷ of it.
  std::string theta_grad = "d";
  theta_grad += a.traits().query_log_scale;
  for (std::size_t i = 0; i < g.size(); ++i) {
    if (tc && !a.traits().query_log_scale.empty() && g[i].first == theta_grad) {
      const std::size_t per_head = std::size_t(sh.S) * sh.D;
      for (int h = 0; h < sh.H; ++h) {
        double magnitude = 0;
        for (int b = 0; b < sh.B; ++b)
          for (std::size_t e = 0; e < per_head; ++e) {
            const std::size_t at = (std::size_t(b) * sh.H + h) * per_head + e;
            magnitude += std::abs(double(pr.q[at]) * want.dq[at]);
          }
        const double got_h = (*g[i].second)[h], want_h = (*w[i].second)[h];
        INFO(what << " " << theta_grad << "[" << h << "]: got " << got_h << ", want " << want_h << ", Σ|q·dq| "
                  << magnitude);
        CHECK(std::abs(got_h - want_h) <= tol_tc * std::abs(want_h) + magnitude / 128);
      }
    } else if (g[i].first == "dg_out" && cancels)
      check_close(g[i].second->data(), w[i].second->data(), g[i].second->size(), tc ? tol_tc : tol_cancelling,
                  (tc ? cancel_floor_tc : cancel_floor) * terms, what + " dg_out (cancelling)");
    else
      compare(*g[i].second, *w[i].second, *rg[i].second, what + " " + g[i].first);
  }
}

// SINKLAB_TEST_VARIANTS=softmax,softpick restricts the row loops (for compute-sanitizer runs on a device).
bool selected(std::size_t row) {
  const char* env = std::getenv("SINKLAB_TEST_VARIANTS");
  if (!env || !*env) return true;
  const std::string list = std::string(",") + env + ",";
  return list.find(std::string(",") + attn::variant_table[row].name + ",") != std::string::npos;
}

const Shape* shapes_begin() { return emulated ? std::begin(emu_shapes) : std::begin(gpu_shapes); }
const Shape* shapes_end() { return emulated ? std::end(emu_shapes) : std::end(gpu_shapes); }

}  // namespace

TEST_CASE("fused CUDA attention == fused CPU attention for every registered variant", "[gpu][attention]") {
  const auto row = GENERATE(range(std::size_t(0), attn::variant_count));
  const int mask = GENERATE(0, 1, 2);
  if (!selected(row)) return;
  const auto a = attn::AnyAttention<float>::create(attn::variant_table[row].name, mask_spec(mask));
  int s = 0;
  for (const Shape* sh = shapes_begin(); sh != shapes_end(); ++sh, ++s) run_case(a, *sh, 5000 + row * 31 + mask * 7 + s);
}

TEST_CASE("fused CUDA attention: score biases and sink slots", "[gpu][attention]") {
  const auto row = GENERATE(range(std::size_t(0), attn::variant_count));
  if (!selected(row)) return;
  const auto probe = attn::AnyAttention<float>::create(attn::variant_table[row].name);
  const bool feature = probe.traits().feature_kernel;  // score biases act on scores only
  std::vector<attn::WindowSpec> specs(2);
  specs[0].mask = attn::MaskKind::causal, specs[0].slot = attn::SlotKind::kv;
  specs[1].mask = attn::MaskKind::sliding, specs[1].window = 40, specs[1].slot = attn::SlotKind::k;
  if (!feature) specs[0].bias = attn::BiasKind::alibi, specs[1].bias = attn::BiasKind::relative_bucket;
  for (std::size_t w = 0; w < specs.size(); ++w) {
    const auto a = attn::AnyAttention<float>::create(attn::variant_table[row].name, specs[w]);
    run_case(a, Shape{1, 4, 2, 100, 64}, 9000 + row * 13 + w);
  }
}

TEST_CASE("fused CUDA attention: full mask, and longer rows on the device", "[gpu][attention]") {
  attn::WindowSpec full;
  full.mask = attn::MaskKind::full;
  for (const char* name :
       {"softmax", "softpick", "sigmoid_bias", "sigmoid_bias_per_row", "gated_softmax", "linear_elu"}) {
    if (!selected(attn::variant_index(name))) continue;
    const auto a = attn::AnyAttention<float>::create(name, full);
    run_case(a, Shape{1, 2, 2, 77, 64}, 7000);
    if (!emulated) run_case(a, Shape{1, 2, 1, 300, 128}, 7001);
  }
}

TEST_CASE("fused CUDA attention with bf16 tensor cores, against the fp32 CPU op", "[gpu][attention]") {
  const auto row = GENERATE(range(std::size_t(0), attn::variant_count));
  const int mask = GENERATE(0, 1, 2);
  if (!selected(row)) return;
  const auto a = attn::AnyAttention<float>::create(attn::variant_table[row].name, mask_spec(mask));
  // D = 96 checks the fall-back to the fp32 tiles. Emulated (slow mma.sync): D = 64 on every mask, D = 128 causal.
  const Shape shapes[] = {{1, 4, 2, 130, 64}, {1, 2, 1, 100, 128}, {1, 2, 2, 70, 96}};
  const Shape emu[] = {{1, 4, 2, 100, 64}, {1, 2, 1, 70, 128}};
  for (std::size_t s = 0; s < std::size(shapes); ++s) {
    if (emulated && (s == 2 || (s == 1 && mask != 0))) continue;
    run_case(a, emulated ? emu[s] : shapes[s], 11000 + row * 31 + mask * 7 + s, attn::CudaMath::bf16_tensor_cores);
  }
}

// For compute-sanitizer on a device (src/cuda/attention/device_check.sh): each kind of kernel once, at the smallest
// shapes that reach it (S = 70: two query tiles, the second partial), so memcheck, racecheck and synccheck fit one
// device call — the fp32 tiles at head-dim capacities 64, 128 and 256 (D = 64, 128, 192), the bf16 tensor-core
// kernels at D = 64 and 128, an input gate's dK/dV on the fp32 tiles behind tensor-core forward and dQ, the
// shared-parameter sums (norm, sink logit, slot), the bias table and the MLP feature map; B = 2 for the folded
// grid (Note [tile grid]). Hidden: run it by its tag, "[sanitize]".
TEST_CASE("fused CUDA attention: one case of each kernel, for compute-sanitizer", "[.][sanitize][gpu][attention]") {
  attn::WindowSpec causal, sliding, slotted;
  sliding.mask = attn::MaskKind::sliding, sliding.window = 20;
  slotted.slot = attn::SlotKind::kv, slotted.bias = attn::BiasKind::alibi;
  const auto tc = attn::CudaMath::bf16_tensor_cores, fp32 = attn::CudaMath::fp32;
  struct Case {
    const char* name;
    attn::WindowSpec spec;
    Shape shape;
    attn::CudaMath math;
  };
  const Case cases[] = {
      {"softmax", causal, {2, 2, 1, 70, 64}, fp32},        {"softmax", causal, {2, 2, 1, 70, 64}, tc},
      {"softmax", sliding, {1, 2, 1, 70, 128}, tc},        {"softmax", causal, {1, 2, 1, 70, 128}, fp32},
      {"softmax", causal, {1, 1, 1, 70, 192}, fp32},       {"gated_softmax", causal, {1, 2, 1, 70, 64}, tc},
      {"softmax_sink", slotted, {1, 2, 1, 70, 64}, fp32},  {"kernel_mlp_norm", causal, {1, 2, 1, 70, 64}, fp32},
  };
  std::uint64_t seed = 13000;
  for (const Case& c : cases) {
    if (!selected(attn::variant_index(c.name))) continue;
    run_case(attn::AnyAttention<float>::create(c.name, c.spec), c.shape, seed++, c.math);
  }
}
