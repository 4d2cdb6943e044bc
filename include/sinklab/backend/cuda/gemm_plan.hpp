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

// Key for the per-shape heuristic cache: everything the algorithm choice depends on.
struct GemmKey {
  GemmProblem p;
  bool operator==(const GemmKey& o) const {
    const auto& a = p;
    const auto& b = o.p;
    return a.trans_a == b.trans_a && a.trans_b == b.trans_b && a.m == b.m && a.n == b.n && a.k == b.k &&
           a.lda == b.lda && a.ldb == b.ldb && a.ldc == b.ldc && a.batch == b.batch && a.stride_a == b.stride_a &&
           a.stride_b == b.stride_b && a.stride_c == b.stride_c && a.in_type == b.in_type && a.out_type == b.out_type;
  }
};
struct GemmKeyHash {
  std::size_t operator()(const GemmKey& key) const {
    const auto& p = key.p;
    std::size_t h = 1469598103934665603ull;
    auto mix = [&](int64_t v) { h = (h ^ std::hash<int64_t>{}(v)) * 1099511628211ull; };
    for (int64_t v : {int64_t(p.trans_a), int64_t(p.trans_b), p.m, p.n, p.k, p.lda, p.ldb, p.ldc, p.batch, p.stride_a,
                      p.stride_b, p.stride_c, int64_t(p.in_type), int64_t(p.out_type)})
      mix(v);
    return h;
  }
};

}  // namespace sinklab::backend::cuda
