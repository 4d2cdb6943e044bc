// Cross-entropy forward/backward without materialising probabilities (online logsumexp per row), embedding gather
// and its deterministic scatter-add backward (stable radix sort of ids, then per-id ordered sums).
#include <cub/block/block_reduce.cuh>
#include <cub/device/device_radix_sort.cuh>

#include "sinklab/backend/cuda/launch.cuh"
#include "sinklab/backend/cuda/ops.cuh"
#include "sinklab/backend/functors/softmax.hpp"

namespace sinklab::backend::cuda {
namespace {
namespace fn = functors;
constexpr int kThreads = 256;

template <class T>
__global__ void ce_fwd_kernel(float* __restrict__ row_loss, float* __restrict__ lse_out, const T* __restrict__ x,
                              const int32_t* __restrict__ targets, int64_t vocab) {
  using R = cub::BlockReduce<fn::OnlineLse, kThreads>;
  __shared__ typename R::TempStorage tmp;
  const T* xr = x + blockIdx.x * vocab;
  fn::OnlineLse st;
  for (int64_t j = threadIdx.x; j < vocab; j += kThreads) st.push(static_cast<float>(xr[j]));
  const fn::OnlineLse all = R(tmp).Reduce(st, fn::MergeLse{});
  if (threadIdx.x == 0) {
    const float lse = all.lse();
    const int32_t t = targets[blockIdx.x];
    lse_out[blockIdx.x] = lse;
    row_loss[blockIdx.x] = t < 0 ? 0.0f : fn::cross_entropy_loss(lse, static_cast<float>(xr[t]));
  }
}

// loss = Σ row_loss / count over non-ignored rows; a single block walks the rows in a fixed order.
__global__ void ce_mean_kernel(float* __restrict__ loss, float* __restrict__ count, const float* __restrict__ row_loss,
                               const int32_t* __restrict__ targets, int64_t rows) {
  using R = cub::BlockReduce<float, kThreads>;
  __shared__ typename R::TempStorage tmp;
  float l = 0.0f, c = 0.0f;
  for (int64_t i = threadIdx.x; i < rows; i += kThreads) {
    if (targets[i] >= 0) {
      l += row_loss[i];
      c += 1.0f;
    }
  }
  const float lt = R(tmp).Sum(l);
  __syncthreads();
  const float ct = R(tmp).Sum(c);
  if (threadIdx.x == 0) {
    *count = ct;
    *loss = ct > 0.0f ? lt / ct : 0.0f;
  }
}

template <class T>
__global__ void ce_bwd_kernel(T* __restrict__ dx, const T* __restrict__ x, const int32_t* __restrict__ targets,
                              const float* __restrict__ lse, const float* __restrict__ count,
                              const float* __restrict__ dloss, int64_t vocab) {
  const int32_t t = targets[blockIdx.x];
  const float c = *count;
  const float scale = (t < 0 || c == 0.0f) ? 0.0f : *dloss / c;
  const float l = lse[blockIdx.x];
  const int64_t base = blockIdx.x * vocab;
  for (int64_t j = threadIdx.x; j < vocab; j += kThreads)
    dx[base + j] = static_cast<T>(fn::cross_entropy_grad(static_cast<float>(x[base + j]), l, j == t, scale));
}

template <class T>
__global__ void embed_kernel(T* __restrict__ y, const T* __restrict__ w, const int32_t* __restrict__ ids, int64_t n,
                             int64_t dim, int64_t vocab, int* __restrict__ bad) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n * dim; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = i / dim, c = i % dim;
    const int32_t id = ids[r];
    if (id < 0 || id >= vocab) {
      *bad = 1;
      y[i] = T(0.0f);
    } else {
      y[i] = w[int64_t(id) * dim + c];
    }
  }
}

// Block b handles sorted position b if it starts a run of equal ids; sums that run's rows in sorted order, which
// (stable sort) is position order. Every id's row of dW is written by exactly one block: deterministic.
template <class T>
__global__ void embed_bwd_kernel(T* __restrict__ dw, const T* __restrict__ dy, const int32_t* __restrict__ sorted_ids,
                                 const int32_t* __restrict__ sorted_pos, int64_t n, int64_t dim) {
  const int64_t b = blockIdx.x;
  const int32_t id = sorted_ids[b];
  if (id < 0 || (b > 0 && sorted_ids[b - 1] == id)) return;
  int64_t end = b + 1;
  while (end < n && sorted_ids[end] == id) ++end;
  for (int64_t c = threadIdx.x; c < dim; c += blockDim.x) {
    float acc = 0.0f;
    for (int64_t k = b; k < end; ++k) acc += static_cast<float>(dy[int64_t(sorted_pos[k]) * dim + c]);
    dw[int64_t(id) * dim + c] = static_cast<T>(acc);
  }
}

__global__ void iota_kernel(int32_t* p, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    p[i] = static_cast<int32_t>(i);
}

template <class T>
void check_ce(const Tensor<T, Cuda>& logits, const Tensor<int32_t, Cuda>& targets) {
  SINKLAB_CHECK(logits.dim() == 2 && targets.dim() == 1 && targets.shape()[0] == logits.shape()[0],
                "cross_entropy: logits (N, V) and targets (N,), got ", to_string(logits.shape()), " and ",
                to_string(targets.shape()));
  SINKLAB_CHECK(logits.shape()[0] < (int64_t(1) << 31), "cross_entropy: too many rows");
}
}  // namespace

template <class T>
CrossEntropyOut cross_entropy(const Tensor<T, Cuda>& logits, const Tensor<int32_t, Cuda>& targets, cudaStream_t s) {
  check_ce(logits, targets);
  const auto xc = logits.contiguous(s);
  const auto tc = targets.contiguous(s);
  const int64_t rows = xc.shape()[0], vocab = xc.shape()[1];
  // Targets are trusted to be < V (checked on the host by the caller's data pipeline); a wrong one reads garbage.
  CrossEntropyOut o{Tensor<float, Cuda>::zeros({}, s), Tensor<float, Cuda>::zeros({rows}, s), Tensor<float, Cuda>::zeros({}, s)};
  if (rows == 0) return o;
  auto row_loss = Tensor<float, Cuda>::empty({rows}, s);
  launch_kernel(ce_fwd_kernel<T>, unsigned(rows), kThreads, 0, s, row_loss.data(), o.lse.data(), xc.data(), tc.data(), vocab);
  launch_kernel(ce_mean_kernel, 1, kThreads, 0, s, o.loss.data(), o.count.data(), row_loss.data(), tc.data(), rows);
  return o;
}

template <class T>
Tensor<T, Cuda> cross_entropy_backward(const Tensor<T, Cuda>& logits, const Tensor<int32_t, Cuda>& targets,
                                       const CrossEntropyOut& fwd, const Tensor<float, Cuda>& dloss, cudaStream_t s) {
  check_ce(logits, targets);
  SINKLAB_CHECK(dloss.numel() == 1, "cross_entropy_backward: dloss must be a scalar, got ", to_string(dloss.shape()));
  const auto xc = logits.contiguous(s);
  const auto tc = targets.contiguous(s);
  const int64_t rows = xc.shape()[0], vocab = xc.shape()[1];
  auto dx = Tensor<T, Cuda>::empty(logits.shape(), s);
  if (rows == 0) return dx;
  launch_kernel(ce_bwd_kernel<T>, unsigned(rows), kThreads, 0, s, dx.data(), xc.data(), tc.data(), fwd.lse.data(), fwd.count.data(),
                                                    dloss.data(), vocab);
  return dx;
}

template <class T>
Tensor<T, Cuda> embedding(const Tensor<T, Cuda>& weight, const Tensor<int32_t, Cuda>& ids, cudaStream_t s) {
  SINKLAB_CHECK(weight.dim() == 2, "embedding: weight must be (V, D), got ", to_string(weight.shape()));
  const auto wc = weight.contiguous(s);
  const auto ic = ids.contiguous(s);
  const int64_t n = ic.numel(), dim = wc.shape()[1];
  Shape out_shape = ids.shape();
  out_shape.push_back(dim);
  auto y = Tensor<T, Cuda>::empty(out_shape, s);
  if (n * dim == 0) return y;
  auto bad = Tensor<int, Cuda>::zeros({}, s);
  launch_kernel(embed_kernel<T>, grid_for(n * dim, kThreads), kThreads, 0, s, y.data(), wc.data(), ic.data(), n, dim, wc.shape()[0],
                                                                bad.data());
  // Out-of-range ids are a user error worth a sync: report it here rather than train on zeros.
  const int any_bad = bad.to_host(s).item();
  SINKLAB_CHECK(!any_bad, "embedding: an id is outside [0, ", wc.shape()[0], ")");
  return y;
}

template <class T>
Tensor<T, Cuda> embedding_backward(const Tensor<T, Cuda>& dy, const Tensor<int32_t, Cuda>& ids, int64_t vocab,
                                   cudaStream_t s) {
  const auto ic = ids.contiguous(s);
  const int64_t n = ic.numel();
  SINKLAB_CHECK(dy.dim() == ids.dim() + 1 && dy.numel() == n * (dy.dim() ? dy.shape().back() : 0),
                "embedding_backward: dy ", to_string(dy.shape()), " for ids ", to_string(ids.shape()));
  SINKLAB_CHECK(n < (int64_t(1) << 31), "embedding_backward: too many ids");
  const int64_t dim = dy.shape().back();
  const auto dyc = dy.contiguous(s);
  auto dw = Tensor<T, Cuda>::zeros({vocab, dim}, s);
  if (n == 0 || dim == 0) return dw;
  auto pos = Tensor<int32_t, Cuda>::empty({n}, s);
  auto sorted_ids = Tensor<int32_t, Cuda>::empty({n}, s), sorted_pos = Tensor<int32_t, Cuda>::empty({n}, s);
  launch_kernel(iota_kernel, grid_for(n, kThreads), kThreads, 0, s, pos.data(), n);
  std::size_t tmp_bytes = 0;
  SINKLAB_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, tmp_bytes, ic.data(), sorted_ids.data(), pos.data(),
                                                     sorted_pos.data(), n, 0, 32, s));
  auto tmp = Tensor<uint8_t, Cuda>::empty({static_cast<int64_t>(tmp_bytes)}, s);
  SINKLAB_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(tmp.data(), tmp_bytes, ic.data(), sorted_ids.data(), pos.data(),
                                                     sorted_pos.data(), n, 0, 32, s));
  launch_kernel(embed_bwd_kernel<T>, unsigned(n), 128, 0, s, dw.data(), dyc.data(), sorted_ids.data(), sorted_pos.data(), n, dim);
  return dw;
}

#define SINKLAB_INSTANTIATE(T)                                                                                     \
  template CrossEntropyOut cross_entropy<T>(const Tensor<T, Cuda>&, const Tensor<int32_t, Cuda>&, cudaStream_t);  \
  template Tensor<T, Cuda> cross_entropy_backward<T>(const Tensor<T, Cuda>&, const Tensor<int32_t, Cuda>&,        \
                                                     const CrossEntropyOut&, const Tensor<float, Cuda>&, cudaStream_t); \
  template Tensor<T, Cuda> embedding<T>(const Tensor<T, Cuda>&, const Tensor<int32_t, Cuda>&, cudaStream_t);      \
  template Tensor<T, Cuda> embedding_backward<T>(const Tensor<T, Cuda>&, const Tensor<int32_t, Cuda>&, int64_t, cudaStream_t);
SINKLAB_INSTANTIATE(float)
SINKLAB_INSTANTIATE(bf16)

}  // namespace sinklab::backend::cuda
