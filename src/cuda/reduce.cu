// Reductions: sum of all elements (cub::DeviceReduce) and along one axis (a block per output row, cub::BlockReduce).
#include <cub/block/block_reduce.cuh>
#include <cub/device/device_reduce.cuh>

#include "sinklab/backend/cuda/ops.cuh"

namespace sinklab::backend::cuda {
namespace {
constexpr int kThreads = 256;

// Converts to fp32 so the device-wide reduce accumulates in fp32 whatever T is.
template <class T>
__global__ void to_float_kernel(float* __restrict__ out, const T* __restrict__ in, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    out[i] = static_cast<float>(in[i]);
}

struct MaxOp {
  __device__ float operator()(float a, float b) const { return a > b ? a : b; }
};

// x viewed as (rows, cols) contiguous; one block per row.
template <class T>
__global__ void row_reduce_kernel(T* __restrict__ out, const T* __restrict__ x, int64_t cols, ReduceOp op) {
  using BlockReduce = cub::BlockReduce<float, kThreads>;
  __shared__ typename BlockReduce::TempStorage tmp;
  const T* row = x + blockIdx.x * cols;
  const bool is_max = op == ReduceOp::Max;
  float acc = is_max ? -INFINITY : 0.0f;
  for (int64_t j = threadIdx.x; j < cols; j += kThreads) {
    const float v = static_cast<float>(row[j]);
    acc = is_max ? fmaxf(acc, v) : acc + v;
  }
  const float r = is_max ? BlockReduce(tmp).Reduce(acc, MaxOp{}) : BlockReduce(tmp).Sum(acc);
  if (threadIdx.x == 0) out[blockIdx.x] = static_cast<T>(op == ReduceOp::Mean ? r / static_cast<float>(cols) : r);
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
    to_float_kernel<<<grid_for(n, kThreads), kThreads, 0, s>>>(xf.data(), xc.data(), n);
    SINKLAB_CUDA_CHECK_LAUNCH();
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
  // Move `axis` last, then reduce rows.
  std::vector<int> order;
  for (int d = 0; d < static_cast<int>(x.dim()); ++d)
    if (d != axis) order.push_back(d);
  order.push_back(axis);
  const auto xc = x.permute(order).contiguous(s);
  const int64_t cols = x.shape()[axis];
  SINKLAB_CHECK(cols > 0 || op == ReduceOp::Sum, "reduce: empty axis ", axis, " of shape ", to_string(x.shape()));
  Shape out_shape = x.shape();
  if (keepdim) out_shape[axis] = 1;
  else out_shape.erase(out_shape.begin() + axis);
  auto out = Tensor<T, Cuda>::zeros(out_shape, s);
  const int64_t rows = out.numel();
  if (rows == 0 || cols == 0) return out;
  SINKLAB_CHECK(rows < (int64_t(1) << 31), "reduce: too many rows (", rows, ")");
  row_reduce_kernel<<<static_cast<unsigned>(rows), kThreads, 0, s>>>(out.data(), xc.data(), cols, op);
  SINKLAB_CUDA_CHECK_LAUNCH();
  return out;
}

template Tensor<float, Cuda> sum_all<float>(const Tensor<float, Cuda>&, cudaStream_t);
template Tensor<float, Cuda> sum_all<bf16>(const Tensor<bf16, Cuda>&, cudaStream_t);
template Tensor<float, Cuda> reduce<float>(ReduceOp, const Tensor<float, Cuda>&, int, bool, cudaStream_t);
template Tensor<bf16, Cuda> reduce<bf16>(ReduceOp, const Tensor<bf16, Cuda>&, int, bool, cudaStream_t);

}  // namespace sinklab::backend::cuda
