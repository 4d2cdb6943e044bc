// RoPE (rotate-half and interleaved) forward/backward and fused SwiGLU forward/backward.
// Math: sinklab/backend/functors/{rope,swiglu}.hpp.
#include "sinklab/backend/cuda/launch.cuh"
#include "sinklab/backend/cuda/ops.cuh"
#include "sinklab/backend/functors/swiglu.hpp"

namespace sinklab::backend::cuda {
namespace {
namespace fn = functors;
constexpr int kThreads = 256;

// One thread per rotated pair. x contiguous (rows·T, D) with rows = numel / (T·D).
template <class T>
__global__ void rope_kernel(T* __restrict__ y, const T* __restrict__ x, int64_t n_pairs, int64_t seq, int dim,
                            fn::RopeLayout layout, float base, int64_t pos_offset, bool inverse) {
  const int half = dim / 2;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n_pairs; i += int64_t(gridDim.x) * blockDim.x) {
    const int p = static_cast<int>(i % half);
    const int64_t row = i / half;  // (…, t)
    const int64_t t = row % seq;
    const fn::RopePair pr = fn::rope_pair(layout, p, dim);
    const float ang = fn::rope_angle(static_cast<int>(pos_offset + t), pr.k, dim, base);
    float c, s;
    sincosf(ang, &s, &c);
    const T* xr = x + row * dim;
    float a = static_cast<float>(xr[pr.i]), b = static_cast<float>(xr[pr.j]);
    fn::rope_rotate(a, b, c, s, inverse);
    y[row * dim + pr.i] = static_cast<T>(a);
    y[row * dim + pr.j] = static_cast<T>(b);
  }
}

template <class T>
__global__ void swiglu_kernel(T* __restrict__ h, const T* __restrict__ g, const T* __restrict__ u, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    h[i] = static_cast<T>(fn::swiglu_fwd(static_cast<float>(g[i]), static_cast<float>(u[i])));
}
template <class T>
__global__ void swiglu_bwd_kernel(T* __restrict__ dg, T* __restrict__ du, const T* __restrict__ g,
                                  const T* __restrict__ u, const T* __restrict__ dh, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    float a, b;
    fn::swiglu_bwd(static_cast<float>(g[i]), static_cast<float>(u[i]), static_cast<float>(dh[i]), a, b);
    dg[i] = static_cast<T>(a);
    du[i] = static_cast<T>(b);
  }
}
}  // namespace

template <class T>
Tensor<T, Cuda> rope(const Tensor<T, Cuda>& x, functors::RopeLayout layout, float base, int64_t pos_offset,
                     bool backward, cudaStream_t s) {
  SINKLAB_CHECK(x.dim() >= 2, "rope: needs (…, T, D), got shape ", to_string(x.shape()));
  const int64_t dim = x.shape().back(), seq = x.shape()[x.dim() - 2];
  SINKLAB_CHECK(dim % 2 == 0, "rope: head dim ", dim, " must be even");
  const auto xc = x.contiguous(s);
  auto y = Tensor<T, Cuda>::empty(x.shape(), s);
  const int64_t n_pairs = x.numel() / 2;
  if (n_pairs == 0) return y;
  launch_kernel(rope_kernel<T>, grid_for(n_pairs, kThreads), kThreads, 0, s, y.data(), xc.data(), n_pairs, seq, static_cast<int>(dim),
                                                               layout, base, pos_offset, backward);
  return y;
}

template <class T>
Tensor<T, Cuda> swiglu(const Tensor<T, Cuda>& g, const Tensor<T, Cuda>& u, cudaStream_t s) {
  SINKLAB_CHECK(g.shape() == u.shape(), "swiglu: gate ", to_string(g.shape()), " vs up ", to_string(u.shape()));
  const auto gc = g.contiguous(s), uc = u.contiguous(s);
  auto h = Tensor<T, Cuda>::empty(g.shape(), s);
  const int64_t n = g.numel();
  if (n) launch_kernel(swiglu_kernel<T>, grid_for(n, kThreads), kThreads, 0, s, h.data(), gc.data(), uc.data(), n);
  return h;
}
template <class T>
void swiglu_backward(const Tensor<T, Cuda>& g, const Tensor<T, Cuda>& u, const Tensor<T, Cuda>& dh, Tensor<T, Cuda>& dg,
                     Tensor<T, Cuda>& du, cudaStream_t s) {
  SINKLAB_CHECK(g.shape() == u.shape() && g.shape() == dh.shape(), "swiglu_backward: shapes ", to_string(g.shape()),
                ", ", to_string(u.shape()), ", ", to_string(dh.shape()));
  const auto gc = g.contiguous(s), uc = u.contiguous(s), dhc = dh.contiguous(s);
  dg = Tensor<T, Cuda>::empty(g.shape(), s);
  du = Tensor<T, Cuda>::empty(g.shape(), s);
  const int64_t n = g.numel();
  if (n) launch_kernel(swiglu_bwd_kernel<T>, grid_for(n, kThreads), kThreads, 0, s, dg.data(), du.data(), gc.data(), uc.data(), dhc.data(), n);
}

#define SINKLAB_INSTANTIATE(T)                                                                                    \
  template Tensor<T, Cuda> rope<T>(const Tensor<T, Cuda>&, functors::RopeLayout, float, int64_t, bool, cudaStream_t); \
  template Tensor<T, Cuda> swiglu<T>(const Tensor<T, Cuda>&, const Tensor<T, Cuda>&, cudaStream_t);              \
  template void swiglu_backward<T>(const Tensor<T, Cuda>&, const Tensor<T, Cuda>&, const Tensor<T, Cuda>&,        \
                                   Tensor<T, Cuda>&, Tensor<T, Cuda>&, cudaStream_t);
SINKLAB_INSTANTIATE(float)
SINKLAB_INSTANTIATE(bf16)

}  // namespace sinklab::backend::cuda
