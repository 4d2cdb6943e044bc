// The CUDA GEMM's host-side logic on the CPU (gemm_plan.hpp): the row-major → column-major cuBLASLt plan against
// a reference product, and the heuristic cache's key: shape, compute type (TF32 or fp32) and the operand
// alignments that become CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_*_BYTES (Note [operand alignment]). Compiled with g++.
#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "sinklab/backend/cuda/gemm_plan.hpp"
#include "sinklab/core/rng.hpp"

using namespace sinklab;
using namespace sinklab::backend::cuda;

namespace {
std::vector<double> randv(int n, uint64_t seed) {
  std::vector<double> v(n);
  for (int i = 0; i < n; ++i) v[i] = Philox::normal(seed, 0, i);
  return v;
}
// An address `offset` bytes past a 256-byte boundary (never dereferenced).
const void* at(std::uintptr_t offset) { return reinterpret_cast<const void*>(std::uintptr_t(0x7f0000000000) + offset); }
}  // namespace

TEST_CASE("row-major GEMM plan reproduces a row-major product via column-major BLAS", "[cuda][gemm]") {
  // Column-major reference BLAS with per-batch strides, as cuBLASLt would run the plan.
  auto colmajor_gemm = [](const LtPlan& q, const std::vector<double>& A, const std::vector<double>& B,
                          std::vector<double>& C) {
    for (int64_t bt = 0; bt < q.batch; ++bt)
      for (int64_t i = 0; i < q.m; ++i)
        for (int64_t j = 0; j < q.n; ++j) {
          double acc = 0;
          for (int64_t l = 0; l < q.k; ++l) {
            const double a = q.trans_a ? A[bt * q.a.batch_stride + l + i * q.a.ld] : A[bt * q.a.batch_stride + i + l * q.a.ld];
            const double b = q.trans_b ? B[bt * q.b.batch_stride + j + l * q.b.ld] : B[bt * q.b.batch_stride + l + j * q.b.ld];
            acc += a * b;
          }
          C[bt * q.c.batch_stride + i + j * q.c.ld] = acc;
        }
  };
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      const int64_t m = 3, n = 5, k = 4, batch = 2;
      GemmProblem p;
      p.trans_a = ta, p.trans_b = tb, p.m = m, p.n = n, p.k = k, p.batch = batch;
      p.lda = ta ? m : k;
      p.ldb = tb ? k : n;
      p.ldc = n;
      p.stride_a = m * k, p.stride_b = k * n, p.stride_c = m * n;
      const auto A = randv(int(batch * m * k), 41), B = randv(int(batch * k * n), 42);
      std::vector<double> C(batch * m * n, 0.0);
      const LtPlan q = plan_gemm(p);
      // Layout sanity: the stored operand's rows × cols in column-major terms.
      CHECK(q.a.rows * q.a.cols == k * n);
      CHECK(q.b.rows * q.b.cols == m * k);
      CHECK((q.c.rows == n && q.c.cols == m));
      colmajor_gemm(q, B, A, C);  // A' = B, B' = A
      for (int64_t bt = 0; bt < batch; ++bt)
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) {
            double want = 0;
            for (int64_t l = 0; l < k; ++l) {
              const double a = ta ? A[bt * m * k + l * m + i] : A[bt * m * k + i * k + l];
              const double b = tb ? B[bt * k * n + j * k + l] : B[bt * k * n + l * n + j];
              want += a * b;
            }
            CHECK(C[bt * m * n + i * n + j] == Approx(want).margin(1e-12));
          }
    }
}

TEST_CASE("operand alignment is the largest power of two up to 16 dividing the address", "[cuda][gemm]") {
  CHECK(operand_alignment(at(0)) == 16);
  CHECK(operand_alignment(at(256 + 32)) == 16);
  CHECK(operand_alignment(at(8)) == 8);
  CHECK(operand_alignment(at(4)) == 4);
  CHECK(operand_alignment(at(12)) == 4);
  CHECK(operand_alignment(at(2)) == 2);
  CHECK(operand_alignment(at(6)) == 2);
  CHECK(operand_alignment(at(1)) == 1);
  CHECK(operand_alignment(nullptr) == 16);
  // Batched: batch i starts i·stride bytes on, so an odd stride lowers every batch's alignment but the first's.
  CHECK(operand_alignment(at(0), 3, 6) == 2);
  CHECK(operand_alignment(at(0), 3, 64) == 16);
  CHECK(operand_alignment(at(0), 1, 6) == 16);  // one batch: the stride is never applied
}

TEST_CASE("GEMM cache key: offset views, TF32 and fp32 compute are distinct entries", "[cuda][gemm]") {
  // A (5 × 7) fp32 row-major; x.slice(0, 1, 5) starts one row (28 bytes) in: 4-byte aligned.
  GemmProblem p;
  p.m = 4, p.n = 3, p.k = 7, p.lda = 7, p.ldb = 3, p.ldc = 3;
  const GemmKey aligned = gemm_key(p, at(0), at(512), at(1024), false);
  CHECK(aligned.align_a == 16);
  CHECK(aligned.align_b == 16);
  CHECK(aligned.align_c == 16);
  CHECK(!aligned.tf32);
  const GemmKey sliced = gemm_key(p, at(28), at(512), at(1024), false);
  CHECK(sliced.align_a == 4);
  CHECK(!(sliced == aligned));
  CHECK(GemmKeyHash{}(sliced) != GemmKeyHash{}(aligned));
  CHECK(gemm_key(p, at(16 * 9), at(512), at(1024), false) == aligned);  // any 16-byte-aligned address: same entry

  const GemmKey tf32 = gemm_key(p, at(0), at(512), at(1024), true);
  CHECK(tf32.tf32);
  CHECK(!(tf32 == aligned));
  CHECK(GemmKeyHash{}(tf32) != GemmKeyHash{}(aligned));
  // bf16 inputs always run CUBLAS_COMPUTE_32F: allow_tf32 changes nothing there.
  GemmProblem h = p;
  h.in_type = GemmType::BF16;
  CHECK(gemm_key(h, at(0), at(512), at(1024), true) == gemm_key(h, at(0), at(512), at(1024), false));
  // bf16, a row of 7 elements (14 bytes) in: 2-byte aligned.
  CHECK(gemm_key(h, at(14), at(512), at(1024), false).align_a == 2);
  // Batched bf16 output with an odd batch stride: C's alignment drops to the stride's.
  GemmProblem bt = h;
  bt.out_type = GemmType::BF16;
  bt.batch = 2, bt.stride_c = 3;  // 6 bytes
  CHECK(gemm_key(bt, at(0), at(512), at(1024), false).align_c == 2);

  // Shapes still matter, as before.
  GemmProblem q = p;
  q.k = 3;
  CHECK(!(gemm_key(q, at(0), at(512), at(1024), false) == aligned));
}

TEST_CASE("cuBLASLt alignment preferences follow the operand swap of the column-major call", "[cuda][gemm]") {
  // Note [row-major via column-major]: cuBLASLt's A is our B and its B our A; C and D are our C.
  GemmProblem p;
  p.m = 8, p.n = 8, p.k = 8, p.lda = 8, p.ldb = 8, p.ldc = 8;
  const GemmKey k = gemm_key(p, at(4), at(8), at(2), false);
  const LtAlignments al = lt_alignments(k);
  CHECK(al.a == 8);  // B's
  CHECK(al.b == 4);  // A's
  CHECK(al.c == 2);
  CHECK(al.d == 2);
}
