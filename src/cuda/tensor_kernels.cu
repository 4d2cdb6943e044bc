// The two kernels Tensor<T, Cuda> itself needs — a strided gather (contiguous copies of views) and a strided fill —
// compiled here, so that tensor_cuda.cuh is plain C++ that any host compiler can include.
#include <cstdint>

#include "sinklab/backend/cuda/launch.cuh"
#include "sinklab/backend/cuda/tensor_cuda.cuh"
#include "sinklab/core/bf16.hpp"

namespace sinklab::backend::cuda {
namespace {
constexpr int kThreads = 256;

template <class T>
__global__ void gather_strided_kernel(T* __restrict__ dst, const T* __restrict__ src,
                                      functors::BroadcastIndexer<1> ix, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t off[1];
    ix.offsets(i, off);
    dst[i] = src[off[0]];
  }
}
template <class T>
__global__ void fill_kernel(T* __restrict__ dst, T v, functors::BroadcastIndexer<1> ix, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t off[1];
    ix.offsets(i, off);
    dst[off[0]] = v;
  }
}
}  // namespace

template <class T>
void gather_strided(T* dst, const T* src, const functors::BroadcastIndexer<1>& ix, int64_t n, cudaStream_t s) {
  if (n > 0) launch_kernel(gather_strided_kernel<T>, grid_for(n, kThreads), kThreads, 0, s, dst, src, ix, n);
}
template <class T>
void fill_strided(T* dst, T v, const functors::BroadcastIndexer<1>& ix, int64_t n, cudaStream_t s) {
  if (n > 0) launch_kernel(fill_kernel<T>, grid_for(n, kThreads), kThreads, 0, s, dst, v, ix, n);
}

#define SINKLAB_TENSOR_KERNELS(T)                                                                                  \
  template void gather_strided<T>(T*, const T*, const functors::BroadcastIndexer<1>&, int64_t, cudaStream_t); \
  template void fill_strided<T>(T*, T, const functors::BroadcastIndexer<1>&, int64_t, cudaStream_t);
SINKLAB_TENSOR_KERNELS(float)
SINKLAB_TENSOR_KERNELS(double)
SINKLAB_TENSOR_KERNELS(bf16)
SINKLAB_TENSOR_KERNELS(int32_t)
SINKLAB_TENSOR_KERNELS(int64_t)
SINKLAB_TENSOR_KERNELS(uint8_t)
#undef SINKLAB_TENSOR_KERNELS

}  // namespace sinklab::backend::cuda
