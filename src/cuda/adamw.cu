// AdamW over every parameter in one launch: block b finds its (tensor, chunk) by binary search in a prefix table
// of block counts, then updates fp32 master weight and moments and writes the optional bf16 copy.
// Math: sinklab/backend/functors/adamw.hpp (same formula as sinklab::optim::AdamW).
#include <cmath>

#include "sinklab/backend/cuda/launch.cuh"
#include "sinklab/backend/cuda/ops.cuh"
#include "sinklab/backend/functors/adamw.hpp"

namespace sinklab::backend::cuda {
namespace {
constexpr int kThreads = 256;
constexpr int64_t kChunk = 16 * kThreads;  // elements per block

template <class T>
__global__ void adamw_kernel(const AdamWParam<T>* __restrict__ params, const int64_t* __restrict__ block_start,
                             int n_params, functors::AdamWStep step) {
  // block_start[i] = first block of tensor i; block_start[n_params] = total blocks.
  int lo = 0, hi = n_params - 1;
  const int64_t b = blockIdx.x;
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (block_start[mid] <= b) lo = mid;
    else hi = mid - 1;
  }
  const AdamWParam<T> p = params[lo];
  const int64_t begin = (b - block_start[lo]) * kChunk;
  const int64_t end = begin + kChunk < p.n ? begin + kChunk : p.n;
  for (int64_t i = begin + threadIdx.x; i < end; i += kThreads) {
    float w = p.w[i], m = p.m[i], v = p.v[i];
    step(w, m, v, static_cast<float>(p.g[i]), p.weight_decay);
    p.w[i] = w;
    p.m[i] = m;
    p.v[i] = v;
    if (p.w_bf16) p.w_bf16[i] = bf16(w);
  }
}
}  // namespace

template <class T>
void adamw_multi_tensor(const std::vector<AdamWParam<T>>& params, const AdamWHyper& h, cudaStream_t s) {
  SINKLAB_CHECK(h.step >= 1, "adamw_multi_tensor: step must be ≥ 1 (1-based), got ", h.step);
  std::vector<AdamWParam<T>> live;
  std::vector<int64_t> starts{0};
  for (const auto& p : params) {
    if (p.n == 0) continue;
    SINKLAB_CHECK(p.w && p.m && p.v && p.g, "adamw_multi_tensor: null pointer in a parameter of ", p.n, " elements");
    live.push_back(p);
    starts.push_back(starts.back() + (p.n + kChunk - 1) / kChunk);
  }
  if (live.empty()) return;
  const int64_t blocks = starts.back();
  SINKLAB_CHECK(blocks < (int64_t(1) << 31), "adamw_multi_tensor: too many blocks");
  const auto n = static_cast<int64_t>(live.size());
  auto d_params = Tensor<uint8_t, Cuda>::empty({n * int64_t(sizeof(AdamWParam<T>))}, s);
  auto d_starts = Tensor<int64_t, Cuda>::empty({n + 1}, s);
  // Pageable sources: cudaMemcpyAsync stages them before returning, so the host vectors may go out of scope.
  SINKLAB_CUDA_CHECK(cudaMemcpyAsync(d_params.data(), live.data(), n * sizeof(AdamWParam<T>), cudaMemcpyHostToDevice, s));
  SINKLAB_CUDA_CHECK(cudaMemcpyAsync(d_starts.data(), starts.data(), (n + 1) * sizeof(int64_t), cudaMemcpyHostToDevice, s));
  const double bc1 = 1.0 - std::pow(double(h.beta1), double(h.step));
  const double bc2 = 1.0 - std::pow(double(h.beta2), double(h.step));
  const functors::AdamWStep step{h.lr, h.beta1, h.beta2, h.eps, float(bc1), float(bc2)};
  launch_kernel(adamw_kernel<T>, unsigned(blocks), kThreads, 0, s, reinterpret_cast<const AdamWParam<T>*>(d_params.data()),
                                                        d_starts.data(), int(n), step);
}

template void adamw_multi_tensor<float>(const std::vector<AdamWParam<float>>&, const AdamWHyper&, cudaStream_t);
template void adamw_multi_tensor<bf16>(const std::vector<AdamWParam<bf16>>&, const AdamWHyper&, cudaStream_t);

}  // namespace sinklab::backend::cuda
