// cuBLASLt GEMM vs a double CPU product: fp32 (tight), bf16 in → fp32/bf16 out (documented tolerance), transposes,
// batched and broadcast batches, heuristic cache, operands at offsets (views), TF32, a workspace per stream.
// Cases tagged [cublaslt] test cuBLASLt's own machinery; the emulated build (a host GEMM stand-in) skips them.
#include <catch2/catch.hpp>

#include "sinklab/backend/cuda/gemm.cuh"
#include "sinklab/backend/cuda/stream.cuh"
#include "support/check_close.hpp"

using namespace sinklab;
using namespace sinklab::backend::cuda;

namespace {
// Row-major reference: (B?, m, n) from (B?, m, k)/(B?, k, m) and (B?, k, n)/(B?, n, k); rank-2 broadcasts.
std::vector<double> ref(const Tensor<float>& a, const Tensor<float>& b, bool ta, bool tb) {
  const auto av = a.to_vector(), bv = b.to_vector();
  const int64_t ar = a.size(-2), ac = a.size(-1), br = b.size(-2), bc = b.size(-1);
  const int64_t m = ta ? ac : ar, k = ta ? ar : ac, n = tb ? br : bc;
  const int64_t batch = std::max(a.dim() == 3 ? a.size(0) : 1, b.dim() == 3 ? b.size(0) : 1);
  std::vector<double> c(batch * m * n);
  for (int64_t z = 0; z < batch; ++z) {
    const int64_t oa = a.dim() == 3 ? z * ar * ac : 0, ob = b.dim() == 3 ? z * br * bc : 0;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (int64_t l = 0; l < k; ++l)
          s += double(av[oa + (ta ? l * ac + i : i * ac + l)]) * double(bv[ob + (tb ? j * bc + l : l * bc + j)]);
        c[(z * m + i) * n + j] = s;
      }
  }
  return c;
}
}  // namespace

TEST_CASE("fp32 GEMM with transposes and batches", "[gpu][gemm]") {
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      const int64_t m = 37, n = 29, k = 45;
      auto a = Tensor<float>::randn(ta ? Shape{3, k, m} : Shape{3, m, k}, 1);
      auto b = Tensor<float>::randn(tb ? Shape{3, n, k} : Shape{3, k, n}, 2);
      const auto c = matmul<float>(to_device(a), to_device(b), ta, tb).to_host();
      CHECK(c.shape() == Shape{3, m, n});
      test::check_close(c.to_vector(), ref(a, b, ta, tb), 1e-5, 1e-5, "fp32 gemm");
      // rank-2 b broadcasts over a's batch
      auto b2 = b.slice(0, 0, 1).reshape(tb ? Shape{n, k} : Shape{k, n});
      test::check_close(matmul<float>(to_device(a), to_device(b2), ta, tb).to_host().to_vector(), ref(a, b2, ta, tb),
                        1e-5, 1e-5, "fp32 gemm, broadcast b");
    }
}

TEST_CASE("bf16 GEMM, fp32 accumulate, fp32 and bf16 out", "[gpu][gemm]") {
  // Tolerance: inputs are rounded to bf16 before the reference too, so the fp32-out error is accumulation order
  // only (rtol 1e-4); bf16 output adds one rounding (2^-8 relative) → rtol 1e-2, atol 1e-2.
  const int64_t m = 64, n = 96, k = 128;
  auto a = Tensor<float>::randn({m, k}, 3).cast<bf16>(), b = Tensor<float>::randn({k, n}, 4).cast<bf16>();
  const auto want = ref(a.cast<float>(), b.cast<float>(), false, false);
  const auto c32 = matmul<float>(to_device(a), to_device(b)).to_host();
  test::check_close(c32.to_vector(), want, 1e-4, 1e-4, "bf16→fp32 gemm");
  const auto c16 = matmul<bf16>(to_device(a), to_device(b)).to_host().cast<float>();
  test::check_close(c16.to_vector(), want, 1e-2, 1e-2, "bf16→bf16 gemm");
}

TEST_CASE("GEMM algorithm is cached per shape", "[gpu][gemm][cublaslt]") {
  auto a = to_device(Tensor<float>::randn({8, 16}, 5)), b = to_device(Tensor<float>::randn({16, 8}, 6));
  (void)matmul<float>(a, b);
  const auto n0 = gemm_cache_size();
  (void)matmul<float>(a, b);
  CHECK(gemm_cache_size() == n0);
  (void)matmul<float>(a, b, false, false);
  (void)matmul<float>(b, a);  // different shape → one more entry
  CHECK(gemm_cache_size() == n0 + 1);
}

TEST_CASE("GEMM on offset views: operands aligned to 4 and 2 bytes", "[gpu][gemm][cublaslt]") {
  // x.slice(0, 1, n) of a row-major (n, 7) matrix starts 7 elements in: 28 bytes (fp32), 14 bytes (bf16). cuBLASLt
  // must be told (Note [operand alignment], gemm_plan.hpp), or it may pick an algorithm that loads 16 bytes at once.
  auto a = Tensor<float>::randn({9, 7}, 11), b = Tensor<float>::randn({8, 5}, 12);
  const auto a_view = a.slice(0, 1, 9), b_view = b.slice(0, 1, 8);  // (8, 7) and (7, 5)
  const auto da = to_device(a), db = to_device(b);
  const auto da_view = da.slice(0, 1, 9), db_view = db.slice(0, 1, 8);
  REQUIRE(da_view.offset() == 7);
  const auto want = ref(a_view.contiguous(), b_view.contiguous(), false, false);
  const auto n0 = gemm_cache_size();
  test::check_close(matmul<float>(da_view, db_view).to_host().to_vector(), want, 1e-5, 1e-5, "fp32 gemm, offset views");
  const auto n1 = gemm_cache_size();
  CHECK(n1 == n0 + 1);
  // The same shape on aligned copies is another cache entry (alignment 16, not 4).
  test::check_close(matmul<float>(da_view.clone(), db_view.clone()).to_host().to_vector(), want, 1e-5, 1e-5,
                    "fp32 gemm, aligned copies");
  CHECK(gemm_cache_size() == n1 + 1);

  const auto ah = a.cast<bf16>(), bh = b.cast<bf16>();
  const auto want16 = ref(ah.slice(0, 1, 9).contiguous().cast<float>(), bh.slice(0, 1, 8).contiguous().cast<float>(),
                          false, false);
  const auto dah = to_device(ah), dbh = to_device(bh);
  test::check_close(matmul<float>(dah.slice(0, 1, 9), dbh.slice(0, 1, 8)).to_host().to_vector(), want16, 1e-4, 1e-4,
                    "bf16 gemm, offset views (2-byte aligned)");

  // C at an odd offset too, through gemm_raw: C = A·B written 1 element past an aligned address.
  GemmProblem p;
  p.m = 8, p.n = 5, p.k = 7, p.lda = 7, p.ldb = 5, p.ldc = 5;
  auto c = Tensor<float, Cuda>::zeros({41});
  gemm_raw(p, da_view.data(), db_view.data(), c.data() + 1, 1.0f, 0.0f);
  const auto ch = c.to_host().to_vector();
  test::check_close(std::vector<float>(ch.begin() + 1, ch.end()), want, 1e-5, 1e-5,
                    "fp32 gemm_raw, C offset by 4 bytes");
}

TEST_CASE("GEMM: TF32 and fp32 compute are cached apart", "[gpu][gemm][cublaslt]") {
  const int64_t m = 64, n = 48, k = 96;
  auto a = Tensor<float>::randn({m, k}, 13), b = Tensor<float>::randn({k, n}, 14);
  const auto da = to_device(a), db = to_device(b);
  GemmProblem p;
  p.m = m, p.n = n, p.k = k, p.lda = k, p.ldb = n, p.ldc = n;
  auto c32 = Tensor<float, Cuda>::zeros({m, n}), ctf = Tensor<float, Cuda>::zeros({m, n});
  gemm_raw(p, da.data(), db.data(), c32.data(), 1.0f, 0.0f, nullptr, false);
  const auto n0 = gemm_cache_size();
  gemm_raw(p, da.data(), db.data(), ctf.data(), 1.0f, 0.0f, nullptr, true);
  CHECK(gemm_cache_size() == n0 + 1);
  const auto want = ref(a, b, false, false);
  test::check_close(c32.to_host().to_vector(), want, 1e-5, 1e-5, "fp32 compute");
  // TF32 rounds the operands to 10 mantissa bits: relative error ~1e-3 over k = 96 products of N(0, 1) values.
  test::check_close(ctf.to_host().to_vector(), want, 1e-2, 5e-2, "tf32 compute");
}

TEST_CASE("each stream has its own GEMM workspace, returned when the stream goes", "[gpu][gemm][cublaslt]") {
  const int64_t m = 256, n = 256, k = 512;
  auto a = Tensor<float>::randn({m, k}, 15), b = Tensor<float>::randn({k, n}, 16);
  const auto want = ref(a, b, false, false);
  const auto da = to_device(a), db = to_device(b);
  (void)matmul<float>(da, db);  // the default stream's workspace
  const auto w0 = gemm_workspace_count();
  {
    auto s1 = Stream::create(), s2 = Stream::create();
    // GEMMs in flight on two streams at once, each with its own workspace.
    std::vector<Tensor<float, Cuda>> c1, c2;
    for (int i = 0; i < 4; ++i) {
      c1.push_back(matmul<float>(da, db, false, false, s1));
      c2.push_back(matmul<float>(da, db, false, false, s2));
    }
    CHECK(gemm_workspace_count() == w0 + 2);
    for (int i = 0; i < 4; ++i) {
      test::check_close(c1[i].to_host(s1).to_vector(), want, 1e-4, 1e-4, "gemm on stream 1");
      test::check_close(c2[i].to_host(s2).to_vector(), want, 1e-4, 1e-4, "gemm on stream 2");
    }
  }
  CHECK(gemm_workspace_count() == w0);
}
