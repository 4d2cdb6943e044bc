// Reductions: sum / mean of all elements (cub::DeviceReduce) and along one axis (a block per output row,
// cub::BlockReduce), max with its index, and the backwards (broadcast of dy; scatter to the max's index).
// Math: sinklab/backend/functors/reduce.hpp.
#include <cub/block/block_reduce.cuh>
#include <cub/device/device_reduce.cuh>

#include "sinklab/backend/cuda/launch.cuh"
#include "sinklab/backend/cuda/ops.cuh"
#include "sinklab/backend/functors/reduce.hpp"

namespace sinklab::backend::cuda {
namespace {
constexpr int kThreads = 256;

// Converts to fp32 so the device-wide reduce accumulates in fp32 whatever T is.
template <class T>
__global__ void to_float_kernel(float* __restrict__ out, const T* __restrict__ in, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    out[i] = static_cast<float>(in[i]);
}

namespace fn = functors;

// x viewed as (rows, cols) contiguous; one block per row. Max propagates NaN (fn::MaxNan), as the CPU's max_axis.
template <class T>
__global__ void row_reduce_kernel(T* __restrict__ out, const T* __restrict__ x, int64_t cols, ReduceOp op) {
  using BlockReduce = cub::BlockReduce<float, kThreads>;
  __shared__ typename BlockReduce::TempStorage tmp;
  const T* row = x + blockIdx.x * cols;
  const bool is_max = op == ReduceOp::Max;
  float acc = is_max ? -INFINITY : 0.0f;
  for (int64_t j = threadIdx.x; j < cols; j += kThreads) {
    const float v = static_cast<float>(row[j]);
    acc = is_max ? fn::MaxNan{}(acc, v) : acc + v;
  }
  const float r = is_max ? BlockReduce(tmp).Reduce(acc, fn::MaxNan{}) : BlockReduce(tmp).Sum(acc);
  if (threadIdx.x == 0) out[blockIdx.x] = static_cast<T>(op == ReduceOp::Mean ? r / static_cast<float>(cols) : r);
}

// Max with index per row (fn::ArgMaxPick: first NaN, else first maximum; order-independent). Values are the chosen
// elements themselves (exact in T).
template <class T>
__global__ void row_argmax_kernel(T* __restrict__ values, int64_t* __restrict__ indices, const T* __restrict__ x,
                                  int64_t cols) {
  using BlockReduce = cub::BlockReduce<fn::ValIdx, kThreads>;
  __shared__ typename BlockReduce::TempStorage tmp;
  const T* row = x + blockIdx.x * cols;
  const fn::ArgMaxPick pick;
  fn::ValIdx acc = fn::ArgMaxPick::identity();
  for (int64_t j = threadIdx.x; j < cols; j += kThreads) acc = pick(acc, fn::ValIdx{static_cast<float>(row[j]), j});
  const fn::ValIdx r = BlockReduce(tmp).Reduce(acc, pick);
  if (threadIdx.x == 0) {
    values[blockIdx.x] = row[r.i];
    indices[blockIdx.x] = r.i;
  }
}

// dx (outer, n, inner) contiguous: dy (outer, inner) at the chosen index along the axis, 0 elsewhere.
template <class T>
__global__ void max_backward_kernel(T* __restrict__ dx, const T* __restrict__ dy, const int64_t* __restrict__ at,
                                    int64_t n_axis, int64_t inner, int64_t n) {
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < n; e += int64_t(gridDim.x) * blockDim.x) {
    const fn::AxisCoord c = fn::axis_coord(e, n_axis, inner);
    const int64_t r = c.reduced(inner);
    dx[e] = static_cast<T>(fn::max_axis_grad(c, at[r], static_cast<float>(dy[r])));
  }
}

// out[i] = dy[0] (divided by `div` when div > 0), for the backward of sum_all / mean_all.
template <class T>
__global__ void fill_from_scalar_kernel(T* __restrict__ out, const float* __restrict__ dy, float div, int64_t n) {
  const float v = div > 0.0f ? dy[0] / div : dy[0];
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    out[i] = static_cast<T>(v);
}

__global__ void divide_scalar_kernel(float* __restrict__ x, float div) { x[0] = x[0] / div; }

// x with `axis` moved last, contiguous: rows of length x.shape()[axis].
template <class T>
Tensor<T, Cuda> axis_last(const Tensor<T, Cuda>& x, int axis, cudaStream_t s) {
  std::vector<int> order;
  for (int d = 0; d < static_cast<int>(x.dim()); ++d)
    if (d != axis) order.push_back(d);
  order.push_back(axis);
  return x.permute(order).contiguous(s);
}

Shape reduced_shape(const Shape& x, int axis, bool keepdim) {
  Shape out = x;
  if (keepdim) out[axis] = 1;
  else out.erase(out.begin() + axis);
  return out;
}
}  // namespace

template <class T>
Tensor<float, Cuda> sum_all(const Tensor<T, Cuda>& x, cudaStream_t s) {
  auto out = Tensor<float, Cuda>::zeros({}, s);
  const auto xc = x.contiguous(s);
  const int64_t n = xc.numel();
  if (n == 0) return out;
  Tensor<float, Cuda> xf;
  const float* in;
  if constexpr (std::is_same_v<T, float>) {
    in = xc.data();
  } else {
    xf = Tensor<float, Cuda>::empty({n}, s);
    launch_kernel(to_float_kernel<T>, grid_for(n, kThreads), kThreads, 0, s, xf.data(), xc.data(), n);
    in = xf.data();
  }
  std::size_t tmp_bytes = 0;
  SINKLAB_CUDA_CHECK(cub::DeviceReduce::Sum(nullptr, tmp_bytes, in, out.data(), n, s));
  auto tmp = Tensor<uint8_t, Cuda>::empty({static_cast<int64_t>(tmp_bytes)}, s);
  SINKLAB_CUDA_CHECK(cub::DeviceReduce::Sum(tmp.data(), tmp_bytes, in, out.data(), n, s));
  return out;
}

template <class T>
Tensor<T, Cuda> reduce(ReduceOp op, const Tensor<T, Cuda>& x, int axis, bool keepdim, cudaStream_t s) {
  axis = normalize_axis(axis, x.shape().size(), "reduce");
  const auto xc = axis_last(x, axis, s);  // move `axis` last, then reduce rows
  const int64_t cols = x.shape()[axis];
  SINKLAB_CHECK(cols > 0 || op == ReduceOp::Sum, "reduce: empty axis ", axis, " of shape ", to_string(x.shape()));
  auto out = Tensor<T, Cuda>::zeros(reduced_shape(x.shape(), axis, keepdim), s);
  const int64_t rows = out.numel();
  if (rows == 0 || cols == 0) return out;
  SINKLAB_CHECK(rows < (int64_t(1) << 31), "reduce: too many rows (", rows, ")");
  launch_kernel(row_reduce_kernel<T>, static_cast<unsigned>(rows), kThreads, 0, s, out.data(), xc.data(), cols, op);
  return out;
}

template <class T>
Tensor<float, Cuda> mean_all(const Tensor<T, Cuda>& x, cudaStream_t s) {
  auto out = sum_all(x, s);
  launch_kernel(divide_scalar_kernel, 1, 1, 0, s, out.data(), static_cast<float>(x.numel()));  // empty: 0/0 = NaN as on the CPU
  return out;
}

template <class T>
Tensor<T, Cuda> sum_all_backward(const Tensor<float, Cuda>& dy, const Shape& x_shape, bool mean, cudaStream_t s) {
  SINKLAB_CHECK(dy.numel() == 1, "sum_all_backward: dy must be a scalar, got shape ", to_string(dy.shape()));
  auto dx = Tensor<T, Cuda>::empty(x_shape, s);
  const int64_t n = dx.numel();
  if (n == 0) return dx;
  launch_kernel(fill_from_scalar_kernel<T>, grid_for(n, kThreads), kThreads, 0, s, dx.data(), dy.data(),
                                                                     mean ? static_cast<float>(n) : 0.0f, n);
  return dx;
}

template <class T>
Tensor<T, Cuda> reduce_backward(ReduceOp op, const Tensor<T, Cuda>& dy, const Shape& x_shape, int axis, bool keepdim,
                                cudaStream_t s) {
  SINKLAB_CHECK(op != ReduceOp::Max, "reduce_backward: Max needs the argmax; use max_with_index and max_backward");
  axis = normalize_axis(axis, x_shape.size(), "reduce_backward");
  const Shape want = reduced_shape(x_shape, axis, keepdim);
  SINKLAB_CHECK(dy.shape() == want, "reduce_backward: dy of shape ", to_string(dy.shape()), " for a reduction of ",
                to_string(x_shape), " over axis ", axis, " (expected ", to_string(want), ")");
  const float scale = op == ReduceOp::Mean ? 1.0f / static_cast<float>(x_shape[axis]) : 1.0f;
  return broadcast_to(dy.reshape(reduced_shape(x_shape, axis, true), s), x_shape, scale, s);
}

template <class T>
MaxWithIndexOut<T> max_with_index(const Tensor<T, Cuda>& x, int axis, bool keepdim, cudaStream_t s) {
  axis = normalize_axis(axis, x.shape().size(), "max");
  const int64_t cols = x.shape()[axis];
  const Shape out_shape = reduced_shape(x.shape(), axis, keepdim);
  SINKLAB_CHECK(cols > 0 || numel(out_shape) == 0, "max: reduction over an empty axis ", axis, " of shape ",
                to_string(x.shape()));
  MaxWithIndexOut<T> r{Tensor<T, Cuda>::empty(out_shape, s), Tensor<int64_t, Cuda>::zeros(out_shape, s)};
  const int64_t rows = r.values.numel();
  if (rows == 0) return r;
  SINKLAB_CHECK(rows < (int64_t(1) << 31), "max: too many rows (", rows, ")");
  const auto xc = axis_last(x, axis, s);
  launch_kernel(row_argmax_kernel<T>, static_cast<unsigned>(rows), kThreads, 0, s, r.values.data(), r.indices.data(), xc.data(), cols);
  return r;
}

template <class T>
Tensor<T, Cuda> max_backward(const Tensor<T, Cuda>& dy, const Tensor<int64_t, Cuda>& indices, const Shape& x_shape,
                             int axis, bool keepdim, cudaStream_t s) {
  axis = normalize_axis(axis, x_shape.size(), "max_backward");
  const Shape want = reduced_shape(x_shape, axis, keepdim);
  SINKLAB_CHECK(dy.shape() == want && indices.shape() == want, "max_backward: dy of shape ", to_string(dy.shape()),
                " and indices of shape ", to_string(indices.shape()), " for a max of ", to_string(x_shape),
                " over axis ", axis, " (expected ", to_string(want), ")");
  auto dx = Tensor<T, Cuda>::empty(x_shape, s);
  const int64_t n = dx.numel();
  if (n == 0) return dx;
  int64_t inner = 1;
  for (std::size_t d = axis + 1; d < x_shape.size(); ++d) inner *= x_shape[d];
  const auto dyc = dy.contiguous(s);
  const auto ic = indices.contiguous(s);
  launch_kernel(max_backward_kernel<T>, grid_for(n, kThreads), kThreads, 0, s, dx.data(), dyc.data(), ic.data(), x_shape[axis], inner, n);
  return dx;
}

#define SINKLAB_INSTANTIATE_REDUCE(T)                                                                              \
  template Tensor<float, Cuda> mean_all<T>(const Tensor<T, Cuda>&, cudaStream_t);                                 \
  template Tensor<T, Cuda> sum_all_backward<T>(const Tensor<float, Cuda>&, const Shape&, bool, cudaStream_t);      \
  template Tensor<T, Cuda> reduce_backward<T>(ReduceOp, const Tensor<T, Cuda>&, const Shape&, int, bool, cudaStream_t); \
  template MaxWithIndexOut<T> max_with_index<T>(const Tensor<T, Cuda>&, int, bool, cudaStream_t);                 \
  template Tensor<T, Cuda> max_backward<T>(const Tensor<T, Cuda>&, const Tensor<int64_t, Cuda>&, const Shape&, int, \
                                           bool, cudaStream_t);
SINKLAB_INSTANTIATE_REDUCE(float)
SINKLAB_INSTANTIATE_REDUCE(bf16)

template Tensor<float, Cuda> sum_all<float>(const Tensor<float, Cuda>&, cudaStream_t);
template Tensor<float, Cuda> sum_all<bf16>(const Tensor<bf16, Cuda>&, cudaStream_t);
template Tensor<float, Cuda> reduce<float>(ReduceOp, const Tensor<float, Cuda>&, int, bool, cudaStream_t);
template Tensor<bf16, Cuda> reduce<bf16>(ReduceOp, const Tensor<bf16, Cuda>&, int, bool, cudaStream_t);

}  // namespace sinklab::backend::cuda
