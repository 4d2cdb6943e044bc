// matmul: the Tensor-level GEMM (shapes, batch broadcast, output type) over gemm_raw, which is cuBLASLt on a device
// (gemm_lt.cu) and a plain host loop in emulated builds (emu/gemm_emu.cpp).
#include <algorithm>

#include "sinklab/backend/cuda/gemm.cuh"

namespace sinklab::backend::cuda {

template <class TOut, class TIn>
Tensor<TOut, Cuda> matmul(const Tensor<TIn, Cuda>& a_in, const Tensor<TIn, Cuda>& b_in, bool trans_a, bool trans_b,
                          cudaStream_t stream) {
  static_assert(std::is_same_v<TIn, float> || std::is_same_v<TIn, bf16>, "matmul: inputs must be float or bf16");
  static_assert(std::is_same_v<TOut, float> || std::is_same_v<TOut, bf16>, "matmul: output must be float or bf16");
  SINKLAB_CHECK(a_in.dim() >= 2 && a_in.dim() <= 3 && b_in.dim() >= 2 && b_in.dim() <= 3, "matmul: rank 2 or 3, got ",
                to_string(a_in.shape()), " and ", to_string(b_in.shape()));
  const auto a = a_in.contiguous(stream);
  const auto b = b_in.contiguous(stream);
  const int64_t ar = a.shape()[a.dim() - 2], ac = a.shape()[a.dim() - 1];
  const int64_t br = b.shape()[b.dim() - 2], bc = b.shape()[b.dim() - 1];
  const int64_t m = trans_a ? ac : ar, k = trans_a ? ar : ac;
  const int64_t kb = trans_b ? bc : br, n = trans_b ? br : bc;
  SINKLAB_CHECK(k == kb, "matmul: inner dimensions differ: ", to_string(a.shape()), (trans_a ? "ᵀ" : ""), " · ",
                to_string(b.shape()), (trans_b ? "ᵀ" : ""));
  const int64_t ba = a.dim() == 3 ? a.shape()[0] : 1, bb = b.dim() == 3 ? b.shape()[0] : 1;
  SINKLAB_CHECK(ba == bb || ba == 1 || bb == 1, "matmul: batch sizes ", ba, " and ", bb, " differ");
  const int64_t batch = std::max(ba, bb);

  GemmProblem p;
  p.trans_a = trans_a;
  p.trans_b = trans_b;
  p.m = m;
  p.n = n;
  p.k = k;
  p.lda = ac;
  p.ldb = bc;
  p.ldc = n;
  p.batch = batch;
  p.stride_a = (a.dim() == 3 && ba > 1) ? ar * ac : 0;  // 0 broadcasts a rank-2 operand over the batch
  p.stride_b = (b.dim() == 3 && bb > 1) ? br * bc : 0;
  p.stride_c = m * n;
  p.in_type = std::is_same_v<TIn, bf16> ? GemmType::BF16 : GemmType::F32;
  p.out_type = std::is_same_v<TOut, bf16> ? GemmType::BF16 : GemmType::F32;

  Shape out_shape = (a.dim() == 3 || b.dim() == 3) ? Shape{batch, m, n} : Shape{m, n};
  auto c = Tensor<TOut, Cuda>::empty(out_shape, stream);
  if (k == 0) {
    c = Tensor<TOut, Cuda>::zeros(out_shape, stream);
    return c;
  }
  gemm_raw(p, a.data(), b.data(), c.data(), 1.0f, 0.0f, stream);
  return c;
}

template Tensor<float, Cuda> matmul<float, float>(const Tensor<float, Cuda>&, const Tensor<float, Cuda>&, bool, bool, cudaStream_t);
template Tensor<float, Cuda> matmul<float, bf16>(const Tensor<bf16, Cuda>&, const Tensor<bf16, Cuda>&, bool, bool, cudaStream_t);
template Tensor<bf16, Cuda> matmul<bf16, bf16>(const Tensor<bf16, Cuda>&, const Tensor<bf16, Cuda>&, bool, bool, cudaStream_t);

}  // namespace sinklab::backend::cuda
