// Fused CPU attention throughput per variant, next to the naive reference and an Eigen SGEMM ceiling measured in the
// same binary. FLOPs (DESIGN §7): forward 4·B·H·S²·D, halved when causal; backward 2.5× forward.
//   ./bench_attention --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <random>
#include <string>
#include <vector>

#include "sinklab/attention.hpp"
#include "sinklab/backend/cpu/gemm.hpp"
#include "sinklab/tensor/tensor.hpp"

namespace attn = sinklab::attention;

namespace {

// Mean and spread of a declared tensor's bench values: gates near 0.5, a norm weight near 1, sink logits N(0, 1),
// the rest small.
std::pair<float, float> bench_values(const attn::ParamSpec& s) {
  if (s.source == attn::Source::activation) return {0.5f, 0.1f};
  if (s.init == attn::Init::ones) return {1.f, 0.1f};
  if (s.extent == attn::Extent::head) return {0.f, 1.f};
  return {0.f, 0.1f};
}

struct Buffers {
  attn::AttentionParams<float> p;
  std::vector<float> q, k, v, dout;
  std::vector<float> qf, kf, qh, kh;  // feature kernels: φ(q), φ(k), the MLP's hidden rows, kept for the backward
  std::vector<float> o, m, l, u, dq, dk, dv;
  std::vector<std::vector<float>> extra, dextra;  // the variant's own tensors and their gradients, in its list's order
  attn::Inputs<float> in;
  attn::Outputs<float> out;
  attn::Grads<float> g;

  Buffers(const attn::AnyAttention<float>& a, int B, int H, int S, int D) {
    p.B = B, p.H = H, p.Hkv = H, p.S = S, p.D = D;
    std::mt19937 rng(1);
    std::normal_distribution<float> nd;
    auto fill = [&](std::size_t n, float mean = 0.f, float sd = 1.f) {
      std::vector<float> x(n);
      for (auto& e : x) e = mean + sd * nd(rng);
      return x;
    };
    const auto& t = a.traits();
    q = fill(p.q_size()), k = fill(p.kv_size()), v = fill(p.kv_size()), dout = fill(p.q_size());
    const auto specs = a.params();
    for (const auto& s : specs) {
      const auto [mean, sd] = bench_values(s);
      extra.push_back(fill(s.numel(B, H, S, D), mean, sd));
      dextra.emplace_back(extra.back().size());
    }
    auto z = [](std::size_t n) { return std::vector<float>(n); };
    o = z(p.q_size()), u = z(p.q_size()), m = z(p.row_count()), l = z(p.row_count());
    dq = z(p.q_size()), dk = z(p.kv_size()), dv = z(p.kv_size());
    auto ptr = [](std::vector<float>& x) { return x.empty() ? nullptr : x.data(); };
    in = {q.data(), k.data(), v.data()};
    g = {dq.data(), dk.data(), dv.data()};
    for (std::size_t i = 0; i < specs.size(); ++i) in.set(specs[i], extra[i].data()), g.set(specs[i], dextra[i].data());
    if (t.feature_kernel) qf = z(p.q_size()), kf = z(p.kv_size());
    if (t.mlp) qh = z(p.q_size()), kh = z(p.kv_size());
    out = {o.data(), {m.data(), l.data(), u.data(), ptr(qf), ptr(kf), ptr(qh), ptr(kh)}};
  }
};

double fwd_flops(int B, int H, int S, int D, bool causal) {
  return 4.0 * B * H * double(S) * S * D * (causal ? 0.5 : 1.0);
}

void BM_attention(benchmark::State& state, const char* name, int S, int D, bool backward) {
  const int B = 1, H = 8;
  const auto a = attn::AnyAttention<float>::create(name);  // causal
  Buffers buf(a, B, H, S, D);
  for (auto _ : state) {
    a.forward(buf.p, buf.in, buf.out);
    if (backward) a.backward(buf.p, buf.in, buf.out.saved, buf.dout.data(), buf.g);
    benchmark::DoNotOptimize(buf.o.data());
  }
  const double f = fwd_flops(B, H, S, D, true) * (backward ? 3.5 : 1.0);
  state.counters["GFLOP/s"] = benchmark::Counter(f * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_reference(benchmark::State& state, const char* name, int S, int D, bool backward) {
  const int B = 1, H = 8;
  const auto a = attn::AnyAttention<float>::create(name);
  Buffers buf(a, B, H, S, D);
  for (auto _ : state) {
    if (backward)
      a.reference_backward(buf.p, buf.in, buf.dout.data(), buf.g);
    else
      a.reference_forward(buf.p, buf.in, buf.o.data());
    benchmark::DoNotOptimize(buf.o.data());
  }
  const double f = fwd_flops(B, H, S, D, true) * (backward ? 3.5 : 1.0);
  state.counters["GFLOP/s"] = benchmark::Counter(f * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// The machine's SGEMM ceiling, square n, all threads: Eigen's own threaded GEMM (mode 0) and sinklab's tiled GEMM
// (mode 1, what the library runs). bench/README.md takes the larger as the ceiling.
void BM_sgemm(benchmark::State& state) {
  const int n = int(state.range(0));
  const bool eigen_threads = state.range(1) == 0;
  const auto A = sinklab::Tensor<float>::randn({n, n}, 1), Bm = sinklab::Tensor<float>::randn({n, n}, 2);
  Eigen::Map<const Eigen::MatrixXf> a(A.data(), n, n), b(Bm.data(), n, n);
  Eigen::MatrixXf C(n, n);
  if (eigen_threads) Eigen::setNbThreads(sinklab::num_threads());
  for (auto _ : state) {
    if (eigen_threads) {
      C.noalias() = a * b;
      benchmark::DoNotOptimize(C.data());
    } else {
      auto c = sinklab::backend::cpu::matmul(A, Bm);
      benchmark::DoNotOptimize(c.data());
    }
  }
  Eigen::setNbThreads(1);
  state.SetLabel(eigen_threads ? "eigen-threaded" : "sinklab");
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * n * n * n * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_sgemm)->ArgsProduct({{1024, 2048}, {0, 1}})->ArgNames({"n", "sinklab"})->Unit(benchmark::kMillisecond)->UseRealTime();

[[maybe_unused]] const bool registered = [] {
  // Every registered variant (select with --benchmark_filter, e.g. 'fwd\+bwd/softmax/').
  for (const auto& row : attn::variant_table)
    for (auto [S, D] : {std::pair{1024, 64}, std::pair{2048, 96}}) {
      const char* v = row.name;
      const std::string tag = std::string(v) + "/S" + std::to_string(S) + "_D" + std::to_string(D);
      benchmark::RegisterBenchmark(("fwd/" + tag).c_str(), BM_attention, v, S, D, false)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
      benchmark::RegisterBenchmark(("fwd+bwd/" + tag).c_str(), BM_attention, v, S, D, true)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
  // The naive materialised reference (one S×S buffer per head; its backward recomputes the forward).
  benchmark::RegisterBenchmark("reference_fwd/softmax/S1024_D64", BM_reference, "softmax", 1024, 64, false)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime()
      ->Iterations(2);
  benchmark::RegisterBenchmark("reference_fwd+bwd/softmax/S1024_D64", BM_reference, "softmax", 1024, 64, true)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime()
      ->Iterations(1);
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
