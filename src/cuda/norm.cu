// Row kernels over the last axis: softmax / log_softmax (online logsumexp), RMSNorm and LayerNorm forward and
// backward. One block per row; math in sinklab/backend/functors/{softmax,norm}.hpp.
#include <cub/block/block_reduce.cuh>

#include "sinklab/backend/cuda/launch.cuh"
#include "sinklab/backend/cuda/ops.cuh"
#include "sinklab/backend/functors/norm.hpp"
#include "sinklab/backend/functors/softmax.hpp"

namespace sinklab::backend::cuda {
namespace {
namespace fn = functors;
constexpr int kThreads = 256;

struct Rows {
  int64_t rows, cols;
};
template <class T>
Rows rows_of(const Tensor<T, Cuda>& x, const char* op) {
  SINKLAB_CHECK(x.dim() >= 1, op, ": needs rank ≥ 1, got shape ", to_string(x.shape()));
  const int64_t cols = x.shape().back();
  const int64_t rows = cols ? x.numel() / cols : 0;
  SINKLAB_CHECK(rows < (int64_t(1) << 31), op, ": too many rows (", rows, ")");
  return {rows, cols};
}

// Sum of a float over the block, broadcast to every thread.
template <class Reduce>
__device__ float block_sum(float v, typename Reduce::TempStorage& tmp, float* bcast) {
  const float r = Reduce(tmp).Sum(v);
  if (threadIdx.x == 0) *bcast = r;
  __syncthreads();
  const float out = *bcast;
  __syncthreads();  // tmp and bcast may be reused next
  return out;
}

template <class T, bool kLog>
__global__ void softmax_kernel(T* __restrict__ y, const T* __restrict__ x, int64_t cols) {
  using R = cub::BlockReduce<fn::OnlineLse, kThreads>;
  __shared__ typename R::TempStorage tmp;
  __shared__ float lse_s;
  const T* xr = x + blockIdx.x * cols;
  T* yr = y + blockIdx.x * cols;
  fn::OnlineLse st;
  for (int64_t j = threadIdx.x; j < cols; j += kThreads) st.push(static_cast<float>(xr[j]));
  const fn::OnlineLse all = R(tmp).Reduce(st, fn::MergeLse{});
  if (threadIdx.x == 0) lse_s = all.lse();
  __syncthreads();
  const float lse = lse_s;
  for (int64_t j = threadIdx.x; j < cols; j += kThreads) {
    const float v = static_cast<float>(xr[j]);
    yr[j] = static_cast<T>(kLog ? fn::log_softmax_from_lse(v, lse) : fn::softmax_from_lse(v, lse));
  }
}

template <class T, bool kLog>
__global__ void softmax_bwd_kernel(T* __restrict__ dx, const T* __restrict__ y, const T* __restrict__ dy, int64_t cols) {
  using R = cub::BlockReduce<float, kThreads>;
  __shared__ typename R::TempStorage tmp;
  __shared__ float b;
  const T* yr = y + blockIdx.x * cols;
  const T* dyr = dy + blockIdx.x * cols;
  float acc = 0.0f;  // softmax: Σ y·dy;  log_softmax: Σ dy
  for (int64_t j = threadIdx.x; j < cols; j += kThreads)
    acc += kLog ? static_cast<float>(dyr[j]) : static_cast<float>(yr[j]) * static_cast<float>(dyr[j]);
  const float tot = block_sum<R>(acc, tmp, &b);
  for (int64_t j = threadIdx.x; j < cols; j += kThreads) {
    const float yv = static_cast<float>(yr[j]), d = static_cast<float>(dyr[j]);
    dx[blockIdx.x * cols + j] = static_cast<T>(kLog ? fn::log_softmax_grad(yv, d, tot) : fn::softmax_grad(yv, d, tot));
  }
}

template <class T>
__global__ void rms_fwd_kernel(T* __restrict__ y, float* __restrict__ rstd, const T* __restrict__ x,
                               const T* __restrict__ w, int64_t cols, float eps) {
  using R = cub::BlockReduce<float, kThreads>;
  __shared__ typename R::TempStorage tmp;
  __shared__ float b;
  const T* xr = x + blockIdx.x * cols;
  float ss = 0.0f;
  for (int64_t j = threadIdx.x; j < cols; j += kThreads) {
    const float v = static_cast<float>(xr[j]);
    ss += v * v;
  }
  const float r = fn::rms_inv(block_sum<R>(ss, tmp, &b), static_cast<int>(cols), eps);
  if (threadIdx.x == 0) rstd[blockIdx.x] = r;
  for (int64_t j = threadIdx.x; j < cols; j += kThreads)
    y[blockIdx.x * cols + j] = static_cast<T>(fn::rms_norm_fwd(static_cast<float>(xr[j]), static_cast<float>(w[j]), r));
}

template <class T>
__global__ void rms_bwd_dx_kernel(T* __restrict__ dx, const T* __restrict__ x, const T* __restrict__ w,
                                  const float* __restrict__ rstd, const T* __restrict__ dy, int64_t cols) {
  using R = cub::BlockReduce<float, kThreads>;
  __shared__ typename R::TempStorage tmp;
  __shared__ float b;
  const int64_t base = blockIdx.x * cols;
  float dot = 0.0f;
  for (int64_t j = threadIdx.x; j < cols; j += kThreads)
    dot += static_cast<float>(w[j]) * static_cast<float>(dy[base + j]) * static_cast<float>(x[base + j]);
  dot = block_sum<R>(dot, tmp, &b);
  const float r = rstd[blockIdx.x];
  for (int64_t j = threadIdx.x; j < cols; j += kThreads)
    dx[base + j] = static_cast<T>(fn::rms_norm_dx(static_cast<float>(x[base + j]), static_cast<float>(w[j]),
                                                  static_cast<float>(dy[base + j]), r, dot, static_cast<int>(cols)));
}

// Column sums for dw (and db): one thread per column walks the rows in order — deterministic, coalesced per row.
template <class T, bool kLayer>
__global__ void norm_dw_kernel(T* __restrict__ dw, T* __restrict__ db, const T* __restrict__ x,
                               const float* __restrict__ mean, const float* __restrict__ rstd, const T* __restrict__ dy,
                               int64_t rows, int64_t cols) {
  const int64_t j = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (j >= cols) return;
  float aw = 0.0f, ab = 0.0f;
  for (int64_t i = 0; i < rows; ++i) {
    const float d = static_cast<float>(dy[i * cols + j]);
    const float xv = static_cast<float>(x[i * cols + j]);
    if constexpr (kLayer) {
      aw += d * (xv - mean[i]) * rstd[i];
      ab += d;
    } else {
      aw += fn::rms_norm_dw(xv, d, rstd[i]);
    }
  }
  dw[j] = static_cast<T>(aw);
  if constexpr (kLayer) db[j] = static_cast<T>(ab);
}

template <class T>
__global__ void ln_fwd_kernel(T* __restrict__ y, float* __restrict__ mean_out, float* __restrict__ rstd_out,
                              const T* __restrict__ x, const T* __restrict__ w, const T* __restrict__ bias,
                              int64_t cols, float eps) {
  using R = cub::BlockReduce<fn::Welford, kThreads>;
  __shared__ typename R::TempStorage tmp;
  __shared__ float mean_s, rstd_s;
  const T* xr = x + blockIdx.x * cols;
  fn::Welford st;
  for (int64_t j = threadIdx.x; j < cols; j += kThreads) st.push(static_cast<float>(xr[j]));
  const fn::Welford all = R(tmp).Reduce(st, fn::MergeWelford{});
  if (threadIdx.x == 0) {
    mean_s = all.mean;
    rstd_s = 1.0f / sqrtf(all.var() + eps);
    mean_out[blockIdx.x] = mean_s;
    rstd_out[blockIdx.x] = rstd_s;
  }
  __syncthreads();
  for (int64_t j = threadIdx.x; j < cols; j += kThreads)
    y[blockIdx.x * cols + j] = static_cast<T>(fn::layer_norm_fwd(static_cast<float>(xr[j]), static_cast<float>(w[j]),
                                                                 static_cast<float>(bias[j]), mean_s, rstd_s));
}

template <class T>
__global__ void ln_bwd_dx_kernel(T* __restrict__ dx, const T* __restrict__ x, const T* __restrict__ w,
                                 const float* __restrict__ mean, const float* __restrict__ rstd,
                                 const T* __restrict__ dy, int64_t cols) {
  using R = cub::BlockReduce<float, kThreads>;
  __shared__ typename R::TempStorage tmp;
  __shared__ float b;
  const int64_t base = blockIdx.x * cols;
  const float mu = mean[blockIdx.x], r = rstd[blockIdx.x];
  float sg = 0.0f, sgx = 0.0f;
  for (int64_t j = threadIdx.x; j < cols; j += kThreads) {
    const float g = static_cast<float>(w[j]) * static_cast<float>(dy[base + j]);
    sg += g;
    sgx += g * (static_cast<float>(x[base + j]) - mu) * r;
  }
  sg = block_sum<R>(sg, tmp, &b);
  sgx = block_sum<R>(sgx, tmp, &b);
  for (int64_t j = threadIdx.x; j < cols; j += kThreads) {
    const float xhat = (static_cast<float>(x[base + j]) - mu) * r;
    const float g = static_cast<float>(w[j]) * static_cast<float>(dy[base + j]);
    dx[base + j] = static_cast<T>(fn::layer_norm_dx(xhat, g, r, sg, sgx, static_cast<int>(cols)));
  }
}

template <class T>
void check_weight(const Tensor<T, Cuda>& w, int64_t cols, const char* op) {
  SINKLAB_CHECK(w.dim() == 1 && w.shape()[0] == cols, op, ": weight of shape ", to_string(w.shape()),
                " for rows of size ", cols);
}
}  // namespace

template <class T>
Tensor<T, Cuda> softmax(const Tensor<T, Cuda>& x, cudaStream_t s) {
  const auto xc = x.contiguous(s);
  const Rows r = rows_of(xc, "softmax");
  auto y = Tensor<T, Cuda>::empty(x.shape(), s);
  if (r.rows && r.cols) launch_kernel(softmax_kernel<T, false>, unsigned(r.rows), kThreads, 0, s, y.data(), xc.data(), r.cols);
  return y;
}
template <class T>
Tensor<T, Cuda> log_softmax(const Tensor<T, Cuda>& x, cudaStream_t s) {
  const auto xc = x.contiguous(s);
  const Rows r = rows_of(xc, "log_softmax");
  auto y = Tensor<T, Cuda>::empty(x.shape(), s);
  if (r.rows && r.cols) launch_kernel(softmax_kernel<T, true>, unsigned(r.rows), kThreads, 0, s, y.data(), xc.data(), r.cols);
  return y;
}
template <class T, bool kLog>
Tensor<T, Cuda> softmax_bwd(const Tensor<T, Cuda>& y, const Tensor<T, Cuda>& dy, cudaStream_t s) {
  SINKLAB_CHECK(y.shape() == dy.shape(), "softmax_backward: y ", to_string(y.shape()), " vs dy ", to_string(dy.shape()));
  const auto yc = y.contiguous(s), dyc = dy.contiguous(s);
  const Rows r = rows_of(yc, "softmax_backward");
  auto dx = Tensor<T, Cuda>::empty(y.shape(), s);
  if (r.rows && r.cols)
    launch_kernel(softmax_bwd_kernel<T, kLog>, unsigned(r.rows), kThreads, 0, s, dx.data(), yc.data(), dyc.data(), r.cols);
  return dx;
}
template <class T>
Tensor<T, Cuda> softmax_backward(const Tensor<T, Cuda>& y, const Tensor<T, Cuda>& dy, cudaStream_t s) {
  return softmax_bwd<T, false>(y, dy, s);
}
template <class T>
Tensor<T, Cuda> log_softmax_backward(const Tensor<T, Cuda>& y, const Tensor<T, Cuda>& dy, cudaStream_t s) {
  return softmax_bwd<T, true>(y, dy, s);
}

template <class T>
RmsNormOut<T> rms_norm(const Tensor<T, Cuda>& x, const Tensor<T, Cuda>& w, float eps, cudaStream_t s) {
  const auto xc = x.contiguous(s), wc = w.contiguous(s);
  const Rows r = rows_of(xc, "rms_norm");
  check_weight(wc, r.cols, "rms_norm");
  RmsNormOut<T> o{Tensor<T, Cuda>::empty(x.shape(), s), Tensor<float, Cuda>::empty({r.rows}, s)};
  if (r.rows && r.cols)
    launch_kernel(rms_fwd_kernel<T>, unsigned(r.rows), kThreads, 0, s, o.y.data(), o.rstd.data(), xc.data(), wc.data(), r.cols, eps);
  return o;
}
template <class T>
void rms_norm_backward(const Tensor<T, Cuda>& x, const Tensor<T, Cuda>& w, const Tensor<float, Cuda>& rstd,
                       const Tensor<T, Cuda>& dy, Tensor<T, Cuda>& dx, Tensor<T, Cuda>& dw, cudaStream_t s) {
  const auto xc = x.contiguous(s), wc = w.contiguous(s), dyc = dy.contiguous(s);
  const Rows r = rows_of(xc, "rms_norm_backward");
  check_weight(wc, r.cols, "rms_norm_backward");
  SINKLAB_CHECK(dy.shape() == x.shape() && rstd.numel() == r.rows, "rms_norm_backward: dy ", to_string(dy.shape()),
                " / rstd ", to_string(rstd.shape()), " for x ", to_string(x.shape()));
  dx = Tensor<T, Cuda>::empty(x.shape(), s);
  dw = Tensor<T, Cuda>::zeros(w.shape(), s);
  if (!r.rows || !r.cols) return;
  launch_kernel(rms_bwd_dx_kernel<T>, unsigned(r.rows), kThreads, 0, s, dx.data(), xc.data(), wc.data(), rstd.data(), dyc.data(), r.cols);
  launch_kernel(norm_dw_kernel<T, false>, grid_for(r.cols, kThreads), kThreads, 0, s, dw.data(), nullptr, xc.data(), nullptr,
                                                                          rstd.data(), dyc.data(), r.rows, r.cols);
}

template <class T>
LayerNormOut<T> layer_norm(const Tensor<T, Cuda>& x, const Tensor<T, Cuda>& w, const Tensor<T, Cuda>& b, float eps,
                           cudaStream_t s) {
  const auto xc = x.contiguous(s), wc = w.contiguous(s), bc = b.contiguous(s);
  const Rows r = rows_of(xc, "layer_norm");
  check_weight(wc, r.cols, "layer_norm");
  check_weight(bc, r.cols, "layer_norm (bias)");
  LayerNormOut<T> o{Tensor<T, Cuda>::empty(x.shape(), s), Tensor<float, Cuda>::empty({r.rows}, s),
                    Tensor<float, Cuda>::empty({r.rows}, s)};
  if (r.rows && r.cols)
    launch_kernel(ln_fwd_kernel<T>, unsigned(r.rows), kThreads, 0, s, o.y.data(), o.mean.data(), o.rstd.data(), xc.data(), wc.data(),
                                                        bc.data(), r.cols, eps);
  return o;
}
template <class T>
void layer_norm_backward(const Tensor<T, Cuda>& x, const Tensor<T, Cuda>& w, const Tensor<float, Cuda>& mean,
                         const Tensor<float, Cuda>& rstd, const Tensor<T, Cuda>& dy, Tensor<T, Cuda>& dx,
                         Tensor<T, Cuda>& dw, Tensor<T, Cuda>& db, cudaStream_t s) {
  const auto xc = x.contiguous(s), wc = w.contiguous(s), dyc = dy.contiguous(s);
  const Rows r = rows_of(xc, "layer_norm_backward");
  check_weight(wc, r.cols, "layer_norm_backward");
  SINKLAB_CHECK(dy.shape() == x.shape() && rstd.numel() == r.rows && mean.numel() == r.rows,
                "layer_norm_backward: dy ", to_string(dy.shape()), " / stats ", to_string(rstd.shape()), " for x ",
                to_string(x.shape()));
  dx = Tensor<T, Cuda>::empty(x.shape(), s);
  dw = Tensor<T, Cuda>::zeros(w.shape(), s);
  db = Tensor<T, Cuda>::zeros(w.shape(), s);
  if (!r.rows || !r.cols) return;
  launch_kernel(ln_bwd_dx_kernel<T>, unsigned(r.rows), kThreads, 0, s, dx.data(), xc.data(), wc.data(), mean.data(), rstd.data(),
                                                         dyc.data(), r.cols);
  launch_kernel(norm_dw_kernel<T, true>, grid_for(r.cols, kThreads), kThreads, 0, s, dw.data(), db.data(), xc.data(), mean.data(),
                                                                         rstd.data(), dyc.data(), r.rows, r.cols);
}

#define SINKLAB_INSTANTIATE(T)                                                                                     \
  template Tensor<T, Cuda> softmax<T>(const Tensor<T, Cuda>&, cudaStream_t);                                      \
  template Tensor<T, Cuda> log_softmax<T>(const Tensor<T, Cuda>&, cudaStream_t);                                  \
  template Tensor<T, Cuda> softmax_backward<T>(const Tensor<T, Cuda>&, const Tensor<T, Cuda>&, cudaStream_t);     \
  template Tensor<T, Cuda> log_softmax_backward<T>(const Tensor<T, Cuda>&, const Tensor<T, Cuda>&, cudaStream_t); \
  template RmsNormOut<T> rms_norm<T>(const Tensor<T, Cuda>&, const Tensor<T, Cuda>&, float, cudaStream_t);        \
  template void rms_norm_backward<T>(const Tensor<T, Cuda>&, const Tensor<T, Cuda>&, const Tensor<float, Cuda>&,  \
                                     const Tensor<T, Cuda>&, Tensor<T, Cuda>&, Tensor<T, Cuda>&, cudaStream_t);   \
  template LayerNormOut<T> layer_norm<T>(const Tensor<T, Cuda>&, const Tensor<T, Cuda>&, const Tensor<T, Cuda>&,  \
                                         float, cudaStream_t);                                                    \
  template void layer_norm_backward<T>(const Tensor<T, Cuda>&, const Tensor<T, Cuda>&, const Tensor<float, Cuda>&, \
                                       const Tensor<float, Cuda>&, const Tensor<T, Cuda>&, Tensor<T, Cuda>&,      \
                                       Tensor<T, Cuda>&, Tensor<T, Cuda>&, cudaStream_t);
SINKLAB_INSTANTIATE(float)
SINKLAB_INSTANTIATE(bf16)

}  // namespace sinklab::backend::cuda
