// The online softmax of the CUDA row kernels (softmax, log_softmax and cross-entropy in src/cuda/norm.cu and
// loss_embed.cu) run on the CPU in the kernels' own order: 256 per-thread states, thread t pushing the elements
// j ≡ t (mod 256), then merged as cub::BlockReduce does (a shuffle-down tree in each warp, then the 8 warp
// aggregates in order). Compared with the CPU backend's softmax, log_softmax and cross-entropy on rows with −∞
// (Note [empty lse state] in backend/functors/softmax.hpp). Compiled with g++ only.
#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <limits>
#include <vector>

#include "sinklab/backend/cpu/cross_entropy.hpp"
#include "sinklab/backend/cpu/softmax.hpp"
#include "sinklab/backend/functors/softmax.hpp"
#include "sinklab/core/rng.hpp"

using namespace sinklab;
using namespace sinklab::backend::functors;

namespace {
constexpr int kThreads = 256;  // as the kernels
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

OnlineLse block_lse(const std::vector<float>& row) {
  std::array<OnlineLse, kThreads> st{};
  for (std::size_t j = 0; j < row.size(); ++j) st[j % kThreads].push(row[j]);
  std::array<OnlineLse, kThreads / 32> warp{};
  for (int w = 0; w < kThreads / 32; ++w) {
    std::array<OnlineLse, 32> v;
    for (int l = 0; l < 32; ++l) v[l] = st[w * 32 + l];
    for (int off = 1; off < 32; off *= 2) {  // lane l takes lane l + off's partial, as __shfl_down_sync
      const auto prev = v;
      for (int l = 0; l + off < 32; ++l) v[l] = OnlineLse::merge(prev[l], prev[l + off]);
    }
    warp[w] = v[0];
  }
  OnlineLse all = warp[0];
  for (int w = 1; w < kThreads / 32; ++w) all = OnlineLse::merge(all, warp[w]);
  return all;
}

struct RowOut {
  std::vector<float> softmax, log_softmax;
  float lse, ce_loss;
};
// What the CUDA kernels write for one row: y_j from the merged lse, and the cross-entropy of `target`.
RowOut kernel_row(const std::vector<float>& row, int target) {
  RowOut r;
  r.lse = block_lse(row).lse();
  for (float x : row) {
    r.softmax.push_back(softmax_from_lse(x, r.lse));
    r.log_softmax.push_back(log_softmax_from_lse(x, r.lse));
  }
  r.ce_loss = cross_entropy_loss(r.lse, row[target]);
  return r;
}
// The CPU backend on the same row.
RowOut cpu_row(const std::vector<float>& row, int target) {
  const int64_t n = static_cast<int64_t>(row.size());
  const auto x = Tensor<float>::from({1, n}, row);
  RowOut r;
  r.softmax = backend::cpu::softmax_forward(x, -1, false).to_vector();
  r.log_softmax = backend::cpu::softmax_forward(x, -1, true).to_vector();
  const auto ce = backend::cpu::cross_entropy_forward(x, Tensor<int32_t>::from({1}, {target}), -100);
  r.lse = ce.lse[0];
  r.ce_loss = ce.loss.to_vector()[0];
  return r;
}

// Equal to within rtol, or both NaN, or the same infinity.
bool same(double a, double b, double rtol) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  if (std::isinf(a) || std::isinf(b)) return a == b;
  return std::abs(a - b) <= rtol * std::abs(b) + 1e-7;
}
void check_same(const std::vector<float>& got, const std::vector<float>& want, double rtol, const char* what) {
  REQUIRE(got.size() == want.size());
  int bad = 0;
  for (std::size_t j = 0; j < got.size(); ++j)
    if (!same(got[j], want[j], rtol) && bad++ < 4) FAIL_CHECK(what << "[" << j << "]: " << got[j] << " vs " << want[j]);
  CHECK(bad == 0);
}
void check_row(const std::vector<float>& row, int target) {
  const RowOut k = kernel_row(row, target), c = cpu_row(row, target);
  CHECK(same(k.lse, c.lse, 1e-6));
  CHECK(same(k.ce_loss, c.ce_loss, 1e-5));
  check_same(k.softmax, c.softmax, 1e-5, "softmax");
  check_same(k.log_softmax, c.log_softmax, 1e-5, "log_softmax");
}

std::vector<float> random_row(int n, uint64_t seed) {
  std::vector<float> r(n);
  for (int j = 0; j < n; ++j) r[j] = float(3.0 * Philox::normal(seed, 0, j));
  return r;
}
}  // namespace

TEST_CASE("online lse: −∞ pushes nothing, the empty state is the merge identity", "[cuda][functors][softmax]") {
  OnlineLse a;
  CHECK(a.empty());
  a.push(kNegInf);
  CHECK(a.empty());  // was {−∞, NaN}: e^{−∞ − (−∞)}
  a.push(1.5f);
  CHECK(a.lse() == Approx(1.5));
  a.push(kNegInf);
  CHECK(a.lse() == Approx(1.5));
  OnlineLse b;
  b.push(0.5f);
  CHECK(OnlineLse::merge(OnlineLse{}, b).lse() == b.lse());
  CHECK(OnlineLse::merge(b, OnlineLse{}).lse() == b.lse());
  CHECK(std::isinf(OnlineLse::merge(OnlineLse{}, OnlineLse{}).lse()));
  // A thread that saw only NaN and −∞ is not empty: its NaN reaches the row, as the CPU's sum does.
  OnlineLse nan_state;
  nan_state.push(kNegInf);
  nan_state.push(std::numeric_limits<float>::quiet_NaN());
  CHECK(!nan_state.empty());
  CHECK(std::isnan(OnlineLse::merge(nan_state, b).lse()));
  CHECK(std::isnan(OnlineLse::merge(b, nan_state).lse()));
}

TEST_CASE("CUDA softmax order: −∞ at position 1 and a finite value at 257 of 512 columns",
          "[cuda][functors][softmax]") {
  std::vector<float> row = random_row(512, 11);
  row[1] = kNegInf;  // thread 1's first element; its second is row[257], finite
  const RowOut k = kernel_row(row, 257);
  CHECK(std::isfinite(k.lse));
  for (float y : k.softmax) CHECK(std::isfinite(y));
  CHECK(k.softmax[1] == 0.0f);
  check_row(row, 257);

  // Every thread's first element masked (a sliding window or padding that hides the row's start), and a thread
  // whose elements are all −∞ (positions 2 and 258): it contributes the identity.
  for (int j = 0; j < kThreads; ++j) row[j] = kNegInf;
  row[258] = kNegInf;
  check_row(row, 300);
  // A row shorter than the block: threads past the end keep the empty state.
  check_row(std::vector<float>(row.begin() + 200, row.begin() + 300), 80);
  // Longer rows: several elements per thread, −∞ scattered (banned ids).
  std::vector<float> vocab = random_row(1000, 12);
  for (int j = 0; j < 1000; j += 7) vocab[j] = kNegInf;
  check_row(vocab, 3);
}

TEST_CASE("CUDA softmax order: all-−∞ and NaN rows give what the CPU backend gives", "[cuda][functors][softmax]") {
  for (int n : {5, 256, 512}) {
    const std::vector<float> row(n, kNegInf);
    const RowOut k = kernel_row(row, 0), c = cpu_row(row, 0);
    // The CPU takes e^{x − max} = e^{−∞ + ∞}: NaN for every output; the kernels, x − lse with lse = −∞: NaN too.
    for (float y : c.softmax) CHECK(std::isnan(y));
    check_same(k.softmax, c.softmax, 0, "softmax");
    check_same(k.log_softmax, c.log_softmax, 0, "log_softmax");
    CHECK(std::isnan(k.ce_loss));
    CHECK(std::isnan(c.ce_loss));
  }
  std::vector<float> row = random_row(512, 13);
  row[3] = kNegInf;
  row[259] = std::numeric_limits<float>::quiet_NaN();  // thread 3: −∞ then NaN
  const RowOut k = kernel_row(row, 0);
  for (float y : k.softmax) CHECK(std::isnan(y));
  check_row(row, 0);
}
