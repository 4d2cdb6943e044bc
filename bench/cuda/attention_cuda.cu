// Fused CUDA attention throughput (fp32 storage): forward and forward+backward TFLOP/s at 16k tokens per batch and
// width 2048 (B = 16384 / S, H = 2048 / D), S ∈ {512, 1k, 2k, 4k, 8k}, D ∈ {64, 128}, causal and full, for both
// CudaMath modes (fp32 SIMT tiles; bf16 tensor-core tiles). FLOPs as DESIGN §7: forward 4·B·H·S²·D, halved when
// causal; backward 2.5× forward, so forward+backward counts 3.5× forward. Device time from CUDA events (manual
// time). Skips without a device.
//   ./bench_attention_cuda --benchmark_counters_tabular=true --benchmark_filter='softmax/.*/S:4096/'

//   SINKLAB_BENCH_VARIANTS=softmax,softpick ./bench_attention_cuda     (default: softmax, sigmoid, softpick,
//                                                                       gated_softmax)
#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "sinklab/attention/any_attention.hpp"
#include "sinklab/attention/any_attention_cuda.hpp"
#include "sinklab/backend/cuda/check.cuh"

namespace attn = sinklab::attention;

namespace {

constexpr int kTokens = 16384, kWidth = 2048;

// x[i] = mean + sd·u, u uniform in [−1, 1) from a hash of (i, seed): inputs without a host round trip.
__global__ void fill_kernel(float* x, std::size_t n, std::uint32_t seed, float mean, float sd) {
  for (std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += std::size_t(gridDim.x) * blockDim.x) {
    std::uint32_t h = std::uint32_t(i) * 0x9E3779B9u ^ seed;
    h ^= h >> 16, h *= 0x85EBCA6Bu, h ^= h >> 13, h *= 0xC2B2AE35u, h ^= h >> 16;
    x[i] = mean + sd * (float(h >> 8) * (1.0f / 8388608.0f) - 1.0f);
  }
}

struct DeviceBuffers {
  std::vector<float*> owned;
  attn::AttentionParams<float> p;
  attn::Inputs<float> in{};
  attn::Outputs<float> out{};
  attn::Grads<float> g{};
  float* dout = nullptr;
  std::uint32_t seed = 1;

  float* make(std::size_t n, float mean = 0.f, float sd = 0.f) {
    if (!n) return nullptr;
    float* x = nullptr;
    SINKLAB_CUDA_CHECK(cudaMalloc(&x, n * sizeof(float)));
    fill_kernel<<<1024, 256>>>(x, n, seed++, mean, sd);
    SINKLAB_CUDA_CHECK(cudaGetLastError());
    owned.push_back(x);
    return x;
  }
  // Every tensor of the variant's list (Note [parameter lists]): gates near 0.5, a norm weight near 1, sink
  // logits N(0, 1), the rest small.
  DeviceBuffers(const std::vector<attn::ParamSpec>& specs, int B, int H, int S, int D) {
    p.B = B, p.H = H, p.Hkv = H, p.S = S, p.D = D;
    const std::size_t nq = p.q_size(), nk = p.kv_size(), rows = p.row_count();
    in.q = make(nq, 0.f, 1.f), in.k = make(nk, 0.f, 1.f), in.v = make(nk, 0.f, 1.f);
    for (const auto& s : specs) {
      const std::size_t n = s.numel(B, H, S, D);
      const bool gate = s.source == attn::Source::activation;
      const float mean = gate ? 0.5f : s.init == attn::Init::ones ? 1.f : 0.f;
      const float sd = s.extent == attn::Extent::head && !gate ? 1.f : 0.1f;
      in.set(s, make(n, mean, sd));
      g.set(s, make(n));
    }
    dout = make(nq, 0.f, 1.f);
    out.o = make(nq), out.saved.row_max = make(rows), out.saved.row_sum = make(rows), out.saved.pre_norm = make(nq);
    g.dq = make(nq), g.dk = make(nk), g.dv = make(nk);
    SINKLAB_CUDA_CHECK(cudaDeviceSynchronize());
  }
  DeviceBuffers(const DeviceBuffers&) = delete;
  DeviceBuffers& operator=(const DeviceBuffers&) = delete;
  ~DeviceBuffers() {
    for (float* x : owned) cudaFree(x);
  }
};

double fwd_flops(int B, int H, int S, int D, bool causal) {
  return 4.0 * B * H * double(S) * S * D * (causal ? 0.5 : 1.0);
}

void run(benchmark::State& state, const std::string& name, int S, int D, bool causal, bool backward,
         attn::CudaMath math) {
  const int B = kTokens / S, H = kWidth / D;
  attn::WindowSpec w;
  w.mask = causal ? attn::MaskKind::causal : attn::MaskKind::full;
  const auto handle = attn::AnyAttentionCuda::create(name, w, math);
  DeviceBuffers buf(attn::AnyAttention<float>::create(name, w).params(), B, H, S, D);
  auto step = [&] {
    handle.forward(buf.p, buf.in, buf.out);
    if (backward) handle.backward(buf.p, buf.in, buf.out.saved, buf.dout, buf.g);
  };
  step();  // warm-up: caching pool, kernel attributes
  SINKLAB_CUDA_CHECK(cudaDeviceSynchronize());
  cudaEvent_t a, b;
  SINKLAB_CUDA_CHECK(cudaEventCreate(&a));
  SINKLAB_CUDA_CHECK(cudaEventCreate(&b));
  double total_s = 0;
  for (auto _ : state) {
    SINKLAB_CUDA_CHECK(cudaEventRecord(a));
    step();
    SINKLAB_CUDA_CHECK(cudaEventRecord(b));
    SINKLAB_CUDA_CHECK(cudaEventSynchronize(b));
    float ms = 0;
    SINKLAB_CUDA_CHECK(cudaEventElapsedTime(&ms, a, b));
    state.SetIterationTime(ms * 1e-3);
    total_s += ms * 1e-3;
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  const double flops = fwd_flops(B, H, S, D, causal) * (backward ? 3.5 : 1.0);
  state.counters["TFLOP/s"] = benchmark::Counter(flops * double(state.iterations()) / total_s / 1e12);
  state.counters["B"] = B, state.counters["H"] = H, state.counters["S"] = S, state.counters["D"] = D;
  state.SetLabel(name + (causal ? " causal" : " full") + (backward ? " fwd+bwd" : " fwd") +
                 (math == attn::CudaMath::fp32 ? " fp32" : " bf16-tc"));
}

std::vector<std::string> variant_names() {
  const char* env = std::getenv("SINKLAB_BENCH_VARIANTS");
  std::string list = env ? env : "softmax,sigmoid,softpick,gated_softmax";
  std::vector<std::string> out;
  std::stringstream ss(list);
  for (std::string n; std::getline(ss, n, ',');)
    if (!n.empty()) out.push_back(n);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (!sinklab::backend::cuda::device_available()) {
    std::printf("skipped: no CUDA device\n");
    return 0;
  }
  for (const auto& name : variant_names()) {
    (void)attn::variant_index(name);  // unknown names fail here, with suggestions
    for (int D : {64, 128})
      for (int S : {512, 1024, 2048, 4096, 8192})
        for (bool causal : {true, false})
          for (bool backward : {false, true})
            for (auto math : {attn::CudaMath::fp32, attn::CudaMath::bf16_tensor_cores}) {
              const std::string id = "attention_cuda/" + name + "/" + (math == attn::CudaMath::fp32 ? "fp32" : "bf16tc") +
                                     "/" + (backward ? "fwd_bwd" : "fwd") + "/" + (causal ? "causal" : "full") +
                                     "/S:" + std::to_string(S) + "/D:" + std::to_string(D);
              benchmark::RegisterBenchmark(id.c_str(),
                                           [=](benchmark::State& st) { run(st, name, S, D, causal, backward, math); })
                  ->UseManualTime()
                  ->Unit(benchmark::kMillisecond)
                  ->MinTime(0.3);
            }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
