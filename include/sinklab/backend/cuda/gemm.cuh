#pragma once
// cuBLASLt GEMMs: bf16 in / fp32 accumulate / bf16 or fp32 out, and an fp32 path; batched strided; transposes;
// a 32 MiB workspace per stream from the caching pool; the heuristic's algorithm cached per problem, compute type
// and operand alignment (GemmKey), so operands at any element offset work.
// Implementation in src/cuda/gemm.cu.
#include <cuda_runtime.h>

#include "sinklab/backend/cuda/gemm_plan.hpp"
#include "sinklab/backend/cuda/tensor_cuda.cuh"

namespace sinklab::backend::cuda {

// Raw pointers: C = alpha·op(A)·op(B) + beta·C, row-major (see GemmProblem). fp32 accumulation always; the fp32
// path uses CUBLAS_COMPUTE_32F (no TF32) unless `allow_tf32`.
void gemm_raw(const GemmProblem& p, const void* a, const void* b, void* c, float alpha, float beta,
              cudaStream_t stream = nullptr, bool allow_tf32 = false);

// Number of distinct problems whose algorithm is cached (for tests).
std::size_t gemm_cache_size();
// Number of streams holding a GEMM workspace (for tests).
std::size_t gemm_workspace_count();
// Returns `stream`'s workspace to the pool; Stream's destructor calls it (Note [workspace per stream], gemm.cu).
void release_gemm_workspace(cudaStream_t stream);

// Tensor form: a (…, m, k) or with trans_a (…, k, m); b likewise; rank 2 or 3; a rank-2 operand broadcasts over the
// other's batch. Returns (…, m, n) contiguous. TIn ∈ {float, bf16}; TOut ∈ {float, bf16} (bf16 in → either out;
// float in → float out).
template <class TOut, class TIn>
Tensor<TOut, Cuda> matmul(const Tensor<TIn, Cuda>& a, const Tensor<TIn, Cuda>& b, bool trans_a = false,
                          bool trans_b = false, cudaStream_t stream = nullptr);

}  // namespace sinklab::backend::cuda
