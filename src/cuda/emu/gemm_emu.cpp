// gemm_raw for emulated builds: the row-major problem of gemm_plan.hpp as a plain host loop, fp32 accumulation in
// k order, the stand-in for cuBLASLt that only emulated builds may use (they have no cuBLAS). It keeps no workspace
// and no algorithm cache, so those counters are 0. As cuBLAS does, beta = 0 never reads C.
#include <cstdint>

#include "sinklab/backend/cuda/gemm.cuh"
#include "sinklab/core/bf16.hpp"

namespace sinklab::backend::cuda {
namespace {
float load(const void* base, GemmType t, int64_t i) {
  return t == GemmType::BF16 ? static_cast<float>(static_cast<const bf16*>(base)[i]) : static_cast<const float*>(base)[i];
}
void store(void* base, GemmType t, int64_t i, float v) {
  if (t == GemmType::BF16) static_cast<bf16*>(base)[i] = static_cast<bf16>(v);
  else static_cast<float*>(base)[i] = v;
}
}  // namespace

void gemm_raw(const GemmProblem& p, const void* a, const void* b, void* c, float alpha, float beta, cudaStream_t,
              bool) {
  SINKLAB_CHECK(p.m >= 0 && p.n >= 0 && p.k >= 0 && p.batch >= 1, "gemm: bad sizes m=", p.m, " n=", p.n, " k=", p.k,
                " batch=", p.batch);
  SINKLAB_CHECK(!(p.in_type == GemmType::F32 && p.out_type == GemmType::BF16),
                "gemm: fp32 inputs with bf16 output is not a supported combination");
  for (int64_t bi = 0; bi < p.batch; ++bi)
    for (int64_t i = 0; i < p.m; ++i)
      for (int64_t j = 0; j < p.n; ++j) {
        float acc = 0.0f;
        for (int64_t l = 0; l < p.k; ++l) {
          const int64_t ia = bi * p.stride_a + (p.trans_a ? l * p.lda + i : i * p.lda + l);
          const int64_t ib = bi * p.stride_b + (p.trans_b ? j * p.ldb + l : l * p.ldb + j);
          acc += load(a, p.in_type, ia) * load(b, p.in_type, ib);
        }
        const int64_t ic = bi * p.stride_c + i * p.ldc + j;
        const float prior = beta == 0.0f ? 0.0f : beta * load(c, p.out_type, ic);
        store(c, p.out_type, ic, alpha * acc + prior);
      }
}

std::size_t gemm_cache_size() { return 0; }
std::size_t gemm_workspace_count() { return 0; }
void release_gemm_workspace(cudaStream_t) {}

}  // namespace sinklab::backend::cuda
