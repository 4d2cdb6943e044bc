// cuBLASLt GEMM vs a double CPU product: fp32 (tight), bf16 in → fp32/bf16 out (documented tolerance), transposes,
// batched and broadcast batches, heuristic cache.
#include <catch2/catch.hpp>

#include "sinklab/backend/cuda/gemm.cuh"
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

TEST_CASE("GEMM algorithm is cached per shape", "[gpu][gemm]") {
  auto a = to_device(Tensor<float>::randn({8, 16}, 5)), b = to_device(Tensor<float>::randn({16, 8}, 6));
  (void)matmul<float>(a, b);
  const auto n0 = gemm_cache_size();
  (void)matmul<float>(a, b);
  CHECK(gemm_cache_size() == n0);
  (void)matmul<float>(a, b, false, false);
  (void)matmul<float>(b, a);  // different shape → one more entry
  CHECK(gemm_cache_size() == n0 + 1);
}
