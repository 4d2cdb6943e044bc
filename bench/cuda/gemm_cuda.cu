// GEMM TFLOP/s on the device: sinklab's cuBLASLt path (heuristic algorithm, cached) next to cublasGemmEx (best of
// its default and tensor-op algorithm hints), for bf16 (fp32 accumulate, bf16 out) and fp32, on random operands
// (a product of zeros runs faster than real data, ~13% for bf16 on an H200). Skips without a device.
#include <cublas_v2.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>

#include "sinklab/backend/cuda/gemm.cuh"

using namespace sinklab;
using namespace sinklab::backend::cuda;

namespace {
// x[i] uniform in [−1, 1) from a hash of (i, seed), written on the device (no host round trip of 8192² elements).
template <class T>
__global__ void fill_uniform_kernel(T* x, std::size_t n, std::uint32_t seed) {
  for (std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += std::size_t(gridDim.x) * blockDim.x) {
    std::uint32_t h = std::uint32_t(i) * 0x9E3779B9u ^ seed;
    h ^= h >> 16, h *= 0x85EBCA6Bu, h ^= h >> 13, h *= 0xC2B2AE35u, h ^= h >> 16;
    x[i] = T(float(h >> 8) * (1.0f / 8388608.0f) - 1.0f);
  }
}
template <class T>
Tensor<T, Cuda> random_matrix(int64_t rows, int64_t cols, std::uint32_t seed) {
  auto t = Tensor<T, Cuda>::empty({rows, cols});
  fill_uniform_kernel<<<1024, 256>>>(t.data(), std::size_t(t.numel()), seed);
  SINKLAB_CUDA_CHECK_LAUNCH();
  return t;
}

template <class F>
double time_ms(F&& f, int iters = 20) {
  cudaEvent_t a, b;
  SINKLAB_CUDA_CHECK(cudaEventCreate(&a));
  SINKLAB_CUDA_CHECK(cudaEventCreate(&b));
  for (int i = 0; i < 3; ++i) f();  // warm-up (and heuristic cache fill)
  SINKLAB_CUDA_CHECK(cudaEventRecord(a));
  for (int i = 0; i < iters; ++i) f();
  SINKLAB_CUDA_CHECK(cudaEventRecord(b));
  SINKLAB_CUDA_CHECK(cudaEventSynchronize(b));
  float ms = 0;
  SINKLAB_CUDA_CHECK(cudaEventElapsedTime(&ms, a, b));
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  return ms / iters;
}

template <class T>
void run(cublasHandle_t h, int64_t m, int64_t n, int64_t k) {
  constexpr bool kBf16 = std::is_same_v<T, bf16>;
  auto a = random_matrix<T>(m, k, 1), b = random_matrix<T>(k, n, 2), c = Tensor<T, Cuda>::zeros({m, n});
  GemmProblem p;
  p.m = m, p.n = n, p.k = k, p.lda = k, p.ldb = n, p.ldc = n;
  p.in_type = p.out_type = kBf16 ? GemmType::BF16 : GemmType::F32;
  const double flop = 2.0 * m * n * k;
  const double lt = time_ms([&] { gemm_raw(p, a.data(), b.data(), c.data(), 1.0f, 0.0f); });
  const cudaDataType_t t = kBf16 ? CUDA_R_16BF : CUDA_R_32F;
  const float alpha = 1.0f, beta = 0.0f;
  double best = 1e30;
  for (auto algo : {CUBLAS_GEMM_DEFAULT, CUBLAS_GEMM_DEFAULT_TENSOR_OP}) {
    // Row-major C = A·B as column-major Cᵀ = Bᵀ·Aᵀ (Note [row-major via column-major]).
    best = std::min(best, time_ms([&] {
      SINKLAB_CUBLAS_CHECK(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, int(n), int(m), int(k), &alpha, b.data(), t, int(n),
                                        a.data(), t, int(k), &beta, c.data(), t, int(n), CUBLAS_COMPUTE_32F, algo));
    }));
  }
  std::printf("%-5s %6ld %6ld %6ld   cublasLt %8.1f TFLOP/s   cublasGemmEx(best) %8.1f TFLOP/s\n", kBf16 ? "bf16" : "fp32",
              long(m), long(n), long(k), flop / lt / 1e9, flop / best / 1e9);
}
}  // namespace

int main() {
  if (!device_available()) {
    std::printf("skipped: no CUDA device\n");
    return 0;
  }
  cublasHandle_t h;
  SINKLAB_CUBLAS_CHECK(cublasCreate(&h));
  for (int64_t s : {1024, 2048, 4096, 8192}) run<bf16>(h, s, s, s);
  run<bf16>(h, 4096, 11008, 4096);  // a Llama-7B MLP shape
  for (int64_t s : {1024, 4096}) run<float>(h, s, s, s);
  cublasDestroy(h);
  return 0;
}
