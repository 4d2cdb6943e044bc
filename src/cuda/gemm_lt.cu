// gemm_raw on cuBLASLt: one process-wide handle, a 32 MiB workspace per stream from the caching pool, and the heuristic's
// first algorithm cached per GemmKey (shape, compute type, operand alignments). Row-major problems are mapped to
// cuBLAS's column-major by plan_gemm.
#include <cublasLt.h>

#include <atomic>
#include <mutex>
#include <unordered_map>

#include "sinklab/backend/cuda/gemm.cuh"

namespace sinklab::backend::cuda {
namespace {

constexpr std::size_t kWorkspaceBytes = std::size_t(32) << 20;  // what cuBLAS recommends for Hopper

cudaDataType_t cuda_type(GemmType t) { return t == GemmType::BF16 ? CUDA_R_16BF : CUDA_R_32F; }

// Note [workspace per stream]: cuBLASLt uses the workspace as scratch for the whole kernel, so two GEMMs in flight
// at once on different streams must not share one. Each stream gets its own, allocated on that stream (so its
// first use is ordered after the allocation) and used only by GEMMs on that stream, which its order serialises.
// Stream's destructor returns it (release_gemm_workspace) before the stream goes.
struct LtState {
  cublasLtHandle_t handle = nullptr;
  int device = -1;
  std::mutex mu;
  std::unordered_map<GemmKey, cublasLtMatmulAlgo_t, GemmKeyHash> algos;
  std::unordered_map<cudaStream_t, void*> workspaces;
};

std::atomic<LtState*> created_state{nullptr};  // lets a stream's teardown skip creating a handle it never used

LtState& state() {
  static LtState* s = [] {  // leaked: see allocator.cu on teardown order
    auto* st = new LtState();
    SINKLAB_CUBLAS_CHECK(cublasLtCreate(&st->handle));
    SINKLAB_CUDA_CHECK(cudaGetDevice(&st->device));
    created_state.store(st);
    return st;
  }();
  return *s;
}

void* workspace_for(LtState& st, cudaStream_t stream) {
  std::lock_guard<std::mutex> lock(st.mu);
  auto it = st.workspaces.find(stream);
  if (it != st.workspaces.end()) return it->second;
  void* ws = device_allocate(kWorkspaceBytes, stream);
  st.workspaces.emplace(stream, ws);
  return ws;
}

// RAII for the descriptor objects of one call.
struct LtDescs {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  ~LtDescs() {
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (c) cublasLtMatrixLayoutDestroy(c);
    if (op) cublasLtMatmulDescDestroy(op);
  }
};

void make_layout(cublasLtMatrixLayout_t* l, cudaDataType_t t, const LtLayout& x, int64_t batch) {
  SINKLAB_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(l, t, static_cast<uint64_t>(x.rows), static_cast<uint64_t>(x.cols), x.ld));
  if (batch > 1) {
    const int32_t count = static_cast<int32_t>(batch);
    SINKLAB_CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(*l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof count));
    SINKLAB_CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(*l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET,
                                                          &x.batch_stride, sizeof x.batch_stride));
  }
}

}  // namespace

void gemm_raw(const GemmProblem& p, const void* a, const void* b, void* c, float alpha, float beta, cudaStream_t stream,
              bool allow_tf32) {
  SINKLAB_CHECK(p.m >= 0 && p.n >= 0 && p.k >= 0 && p.batch >= 1, "gemm: bad sizes m=", p.m, " n=", p.n, " k=", p.k,
                " batch=", p.batch);
  SINKLAB_CHECK(!(p.in_type == GemmType::F32 && p.out_type == GemmType::BF16),
                "gemm: fp32 inputs with bf16 output is not a supported combination");
  if (p.m == 0 || p.n == 0) return;
  LtState& st = state();
  int dev = 0;
  SINKLAB_CUDA_CHECK(cudaGetDevice(&dev));
  SINKLAB_CHECK(dev == st.device, "gemm: cuBLASLt state was created on device ", st.device, ", called on ", dev);
  const LtPlan q = plan_gemm(p);

  LtDescs d;
  const cublasComputeType_t compute =
      p.in_type == GemmType::F32 ? (allow_tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F) : CUBLAS_COMPUTE_32F;
  SINKLAB_CUBLAS_CHECK(cublasLtMatmulDescCreate(&d.op, compute, CUDA_R_32F));
  const cublasOperation_t ta = q.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, tb = q.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  SINKLAB_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
  SINKLAB_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
  make_layout(&d.a, cuda_type(p.in_type), q.a, q.batch);
  make_layout(&d.b, cuda_type(p.in_type), q.b, q.batch);
  make_layout(&d.c, cuda_type(p.out_type), q.c, q.batch);

  const GemmKey key = gemm_key(p, a, b, c, allow_tf32);
  cublasLtMatmulAlgo_t algo;
  {
    std::lock_guard<std::mutex> lock(st.mu);
    auto it = st.algos.find(key);
    if (it == st.algos.end()) {
      cublasLtMatmulPreference_t pref = nullptr;
      SINKLAB_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
      const uint64_t ws = kWorkspaceBytes;
      const LtAlignments al = lt_alignments(key);  // Note [operand alignment] (gemm_plan.hpp)
      const std::pair<cublasLtMatmulPreferenceAttributes_t, const void*> attrs[] = {
          {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &al.a}, {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &al.b},
          {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &al.c}, {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &al.d}};
      cublasLtMatmulHeuristicResult_t res{};
      int found = 0;
      cublasStatus_t status =
          cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws);
      for (const auto& [attr, value] : attrs)
        if (status == CUBLAS_STATUS_SUCCESS)
          status = cublasLtMatmulPreferenceSetAttribute(pref, attr, value, sizeof(uint32_t));
      if (status == CUBLAS_STATUS_SUCCESS)
        status = cublasLtMatmulAlgoGetHeuristic(st.handle, d.op, d.a, d.b, d.c, d.c, pref, 1, &res, &found);
      cublasLtMatmulPreferenceDestroy(pref);
      SINKLAB_CUBLAS_CHECK(status);
      SINKLAB_CHECK(found > 0, "gemm: cuBLASLt found no algorithm for m=", p.m, " n=", p.n, " k=", p.k,
                    " batch=", p.batch, " (operand alignments A ", key.align_a, ", B ", key.align_b, ", C ",
                    key.align_c, " bytes)");
      it = st.algos.emplace(key, res.algo).first;
    }
    algo = it->second;
  }
  void* const workspace = workspace_for(st, stream);  // Note [workspace per stream]
  // Note [row-major via column-major] (gemm_plan.hpp): A' = B, B' = A.
  SINKLAB_CUBLAS_CHECK(cublasLtMatmul(st.handle, d.op, &alpha, b, d.a, a, d.b, &beta, c, d.c, c, d.c, &algo,
                                      workspace, kWorkspaceBytes, stream));
}

void release_gemm_workspace(cudaStream_t stream) {
  LtState* st = created_state.load();
  if (!st) return;
  void* ws = nullptr;
  {
    std::lock_guard<std::mutex> lock(st->mu);
    auto it = st->workspaces.find(stream);
    if (it == st->workspaces.end()) return;
    ws = it->second;
    st->workspaces.erase(it);
  }
  device_free(ws);  // stream-ordered: the pool reuses it only after the GEMMs queued on `stream`
}

std::size_t gemm_workspace_count() {
  LtState& st = state();
  std::lock_guard<std::mutex> lock(st.mu);
  return st.workspaces.size();
}

std::size_t gemm_cache_size() {
  LtState& st = state();
  std::lock_guard<std::mutex> lock(st.mu);
  return st.algos.size();
}

}  // namespace sinklab::backend::cuda
