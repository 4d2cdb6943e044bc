#pragma once
// Row-major GEMM → column-major cuBLAS(Lt) call, in plain C++ so the CPU test checks the mapping.
//
// Note [row-major via column-major]: a row-major X with row stride ld is, to cuBLAS, the column-major X^T with the
// same ld. So row-major C = op(A)·op(B) is computed as column-major C^T = op(B)^T·op(A)^T: swap the operands, keep
// each operand's transpose flag, and swap m and n.
#include <cstddef>
#include <cstdint>
#include <functional>

namespace sinklab::backend::cuda {

enum class GemmType : int { F32 = 0, BF16 = 1 };

// Row-major problem: C[b] (m×n, row stride ldc) = alpha·op(A[b])·op(B[b]) + beta·C[b].
// A is stored (m×k) or, with trans_a, (k×m), row stride lda; likewise B (k×n) or (n×k). Batch strides in elements;
// a batch stride of 0 broadcasts that operand.
struct GemmProblem {
  bool trans_a = false, trans_b = false;
  int64_t m = 0, n = 0, k = 0;
  int64_t lda = 0, ldb = 0, ldc = 0;
  int64_t batch = 1, stride_a = 0, stride_b = 0, stride_c = 0;
  GemmType in_type = GemmType::F32, out_type = GemmType::F32;
};

// One column-major operand as cuBLASLt's matrix layout wants it: stored rows × cols, leading dim, batch stride.
struct LtLayout {
  int64_t rows, cols, ld, batch_stride;
};

// The column-major call: C' (m'×n') = op(A')·op(B'), A' = B, B' = A (see Note).
struct LtPlan {
  bool trans_a, trans_b;  // ops applied to A' and B'
  int64_t m, n, k;
  LtLayout a, b, c;
  int64_t batch;
};

inline LtPlan plan_gemm(const GemmProblem& p) {
  LtPlan q{};
  q.m = p.n;
  q.n = p.m;
  q.k = p.k;
  q.batch = p.batch;
  q.trans_a = p.trans_b;  // A' = B
  q.trans_b = p.trans_a;  // B' = A
  // Row-major B stored (k×n) is column-major (n×k) = op(A') with op = N; stored (n×k) is column-major (k×n), op = T.
  q.a = p.trans_b ? LtLayout{p.k, p.n, p.ldb, p.stride_b} : LtLayout{p.n, p.k, p.ldb, p.stride_b};
  q.b = p.trans_a ? LtLayout{p.m, p.k, p.lda, p.stride_a} : LtLayout{p.k, p.m, p.lda, p.stride_a};
  q.c = LtLayout{p.n, p.m, p.ldc, p.stride_c};
  return q;
}

// Note [operand alignment]: cuBLASLt's heuristic assumes every operand is 256-byte aligned unless the
// CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_{A,B,C,D}_BYTES preferences say less, and may return an algorithm that loads
// 16 bytes at a time; run on an offset view (x.slice(0, 1, n) of a row of odd bytes), such an algorithm is refused
// or faults. So each operand's alignment is the largest power of two ≤ 16 dividing its address (and, batched, its
// batch stride in bytes, since batch i starts i strides further on), the preferences say so, and the alignments
// are part of the cache key: an algorithm chosen for aligned operands is never reused for offset ones.
inline uint32_t operand_alignment(const void* p, int64_t batch = 1, int64_t batch_stride_bytes = 0) {
  const auto addr = static_cast<uint64_t>(reinterpret_cast<std::uintptr_t>(p));
  const auto stride = batch > 1 ? static_cast<uint64_t>(batch_stride_bytes) : 0;
  uint32_t a = 16;
  while (a > 1 && ((addr | stride) % a) != 0) a /= 2;
  return a;
}

inline std::size_t gemm_type_bytes(GemmType t) { return t == GemmType::BF16 ? 2 : 4; }

// Key for the per-shape heuristic cache: everything the algorithm choice depends on. The alignments are the
// row-major problem's (A, B, C; D is C, written in place) and tf32 is the compute type actually used (fp32 inputs
// with allow_tf32), since an algorithm found for CUBLAS_COMPUTE_32F_FAST_TF32 is not one for CUBLAS_COMPUTE_32F.
struct GemmKey {
  GemmProblem p;
  bool tf32 = false;
  uint32_t align_a = 16, align_b = 16, align_c = 16;
  bool operator==(const GemmKey& o) const {
    const auto& a = p;
    const auto& b = o.p;
    return a.trans_a == b.trans_a && a.trans_b == b.trans_b && a.m == b.m && a.n == b.n && a.k == b.k &&
           a.lda == b.lda && a.ldb == b.ldb && a.ldc == b.ldc && a.batch == b.batch && a.stride_a == b.stride_a &&
           a.stride_b == b.stride_b && a.stride_c == b.stride_c && a.in_type == b.in_type && a.out_type == b.out_type &&
           tf32 == o.tf32 && align_a == o.align_a && align_b == o.align_b && align_c == o.align_c;
  }
};
struct GemmKeyHash {
  std::size_t operator()(const GemmKey& key) const {
    const auto& p = key.p;
    std::size_t h = 1469598103934665603ull;
    auto mix = [&](int64_t v) { h = (h ^ std::hash<int64_t>{}(v)) * 1099511628211ull; };
    for (int64_t v : {int64_t(p.trans_a), int64_t(p.trans_b), p.m, p.n, p.k, p.lda, p.ldb, p.ldc, p.batch, p.stride_a,
                      p.stride_b, p.stride_c, int64_t(p.in_type), int64_t(p.out_type), int64_t(key.tf32),
                      int64_t(key.align_a), int64_t(key.align_b), int64_t(key.align_c)})
      mix(v);
    return h;
  }
};

// The key of one call on these pointers (a, b, c of the row-major problem).
inline GemmKey gemm_key(const GemmProblem& p, const void* a, const void* b, const void* c, bool allow_tf32) {
  GemmKey k;
  k.p = p;
  k.tf32 = p.in_type == GemmType::F32 && allow_tf32;
  const auto in = static_cast<int64_t>(gemm_type_bytes(p.in_type));
  const auto out = static_cast<int64_t>(gemm_type_bytes(p.out_type));
  k.align_a = operand_alignment(a, p.batch, p.stride_a * in);
  k.align_b = operand_alignment(b, p.batch, p.stride_b * in);
  k.align_c = operand_alignment(c, p.batch, p.stride_c * out);
  return k;
}

// The four CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_*_BYTES values of the column-major call (Note [row-major via
// column-major]: A' = B, B' = A; C and D are C).
struct LtAlignments {
  uint32_t a, b, c, d;
};
inline LtAlignments lt_alignments(const GemmKey& k) { return {k.align_b, k.align_a, k.align_c, k.align_c}; }

}  // namespace sinklab::backend::cuda
