// Launch geometry of the fused CUDA attention (fused_cuda.cuh) against the limits every device enforces
// (launch_limits.hpp), on the CPU emulator (src/cuda/emu/cuda_emu.hpp): the emulator refuses what a device
// would refuse, the tile kernels' folded grid (Note [tile grid]) visits every (block, head, batch) once, and a
// column sum whose chunk axis used to exceed gridDim.y ≤ 65535 now launches and sums correctly. Compiled with g++
// and SINKLAB_CUDA_EMULATE (tests/cuda/CMakeLists.txt).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "../../src/cuda/emu/cuda_emu.hpp"
#include "sinklab/attention/fused_cuda.cuh"
#include "sinklab/core/rng.hpp"

using namespace sinklab;
namespace cd = sinklab::attention::cuda_detail;

namespace {
void empty_kernel(int) {}

template <class T>
T* emu_alloc(std::size_t n) {
  return static_cast<T*>(sinklab_emu::dev_alloc(n * sizeof(T), nullptr));
}
}  // namespace

TEST_CASE("the emulator refuses a launch a device would refuse", "[cuda][emulator]") {
  using sinklab_emu::check_launch;
  const dim3 ok_block(256);
  CHECK_NOTHROW(check_launch(dim3(2147483647u, 65535, 65535), ok_block, 0));
  CHECK_THROWS_WITH(check_launch(dim3(2147483648u), ok_block, 0), Catch::Matchers::Contains("gridDim.x"));
  CHECK_THROWS_WITH(check_launch(dim3(1, 65536), ok_block, 0), Catch::Matchers::Contains("gridDim.y = 65536"));
  CHECK_THROWS_WITH(check_launch(dim3(1, 1, 65536), ok_block, 0), Catch::Matchers::Contains("gridDim.z = 65536"));
  CHECK_NOTHROW(check_launch(dim3(1), dim3(1024), 0));
  CHECK_NOTHROW(check_launch(dim3(1), dim3(16, 1, 64), 0));
  CHECK_THROWS_WITH(check_launch(dim3(1), dim3(1025), 0), Catch::Matchers::Contains("blockDim"));
  CHECK_THROWS_WITH(check_launch(dim3(1), dim3(1, 1, 65), 0), Catch::Matchers::Contains("blockDim"));
  CHECK_THROWS_WITH(check_launch(dim3(1), dim3(64, 32), 0), Catch::Matchers::Contains("2048 threads per block"));
  CHECK_NOTHROW(check_launch(dim3(1), ok_block, 227 * 1024));
  CHECK_THROWS_WITH(check_launch(dim3(1), ok_block, 227 * 1024 + 1), Catch::Matchers::Contains("shared memory"));
  // Through launch(), as the attention code calls it; an empty grid launches nothing and is no error.
  CHECK_THROWS_AS(sinklab_emu::launch(&empty_kernel, dim3(1, 70000), dim3(32), 0, nullptr, 0), Error);
  CHECK_NOTHROW(sinklab_emu::launch(&empty_kernel, dim3(0, 70000), dim3(32), 0, nullptr, 0));
}

TEST_CASE("tile grid: (block, head, batch) folded into x, each visited once, past 65535 batches",
          "[cuda][emulator][attention]") {
  // What the launchers used to ask for, (blocks, H, B), is refused at B > 65535; the folded grid fits.
  const int blocks = 3, heads = 2, batch = 70000;
  CHECK_THROWS_AS(sinklab_emu::check_launch(dim3(blocks, heads, batch), dim3(cd::kThreads), 0), Error);
  const dim3 grid = cd::tile_grid(blocks, heads, batch, "test");
  CHECK(grid.y == 1);
  CHECK(grid.z == 1);
  CHECK(grid.x == unsigned(blocks * heads * batch));
  CHECK_NOTHROW(sinklab_emu::check_launch(grid, dim3(cd::kThreads), 0));
  // Row block fastest, then head, then batch: the launch order of the (blocks, H, B) grid.
  const cd::TileGrid tg{blocks, heads};
  std::vector<int> seen(std::size_t(blocks) * heads * batch, 0);
  std::size_t out_of_range = 0;
  for (unsigned x = 0; x < grid.x; ++x) {
    const auto p = tg.at(x);
    if (p.block < 0 || p.block >= blocks || p.head < 0 || p.head >= heads || p.batch < 0 || p.batch >= batch) {
      ++out_of_range;
      continue;
    }
    ++seen[(std::size_t(p.batch) * heads + p.head) * blocks + p.block];
    if (x < 7) CHECK((p.block == int(x % 3) && p.head == int(x / 3 % 2) && p.batch == int(x / 6)));
  }
  CHECK(out_of_range == 0);
  CHECK(std::count(seen.begin(), seen.end(), 1) == std::ptrdiff_t(seen.size()));
  CHECK_THROWS_WITH(cd::tile_grid(1 << 16, 1 << 10, 64, "the forward tiles"),
                    Catch::Matchers::Contains("the forward tiles"));
}

TEST_CASE("grouped column sums: column blocks, chunks and groups folded into x", "[cuda][emulator][attention]") {
  // out[g][w] = Σ_b Σ_i a[row]·X[row][w], row = (b·G + g)·len + i, against a double sum; W = 200 spans two column
  // blocks, 3000 rows per group three chunks (the last one partial), G = 3 groups.
  const int nb = 2, G = 3, len = 1500, W = 200;
  const std::size_t rows = std::size_t(nb) * G * len;
  float* a = emu_alloc<float>(rows);
  float* X = emu_alloc<float>(rows * W);
  for (std::size_t r = 0; r < rows; ++r) a[r] = float(Philox::normal(21, 0, r));
  for (std::size_t e = 0; e < rows * W; ++e) X[e] = float(Philox::normal(22, 0, e));
  float* out = emu_alloc<float>(std::size_t(G) * W);
  {
    cd::Scratch sc(nullptr);
    cd::grouped_colsum(sc, static_cast<const float*>(a), static_cast<const float*>(X), nb, G, len, W, out, nullptr);
  }
  int bad = 0;
  for (int g = 0; g < G; ++g)
    for (int w = 0; w < W; ++w) {
      double want = 0, mag = 0;
      for (int b = 0; b < nb; ++b)
        for (int i = 0; i < len; ++i) {
          const std::size_t row = (std::size_t(b) * G + g) * len + i;
          want += double(a[row]) * X[row * W + w];
          mag += std::abs(double(a[row]) * X[row * W + w]);
        }
      if (!(std::abs(out[g * W + w] - want) <= 1e-4 * mag) && bad++ < 4)  // a wrong row or column is off by O(mag)
        FAIL_CHECK("out[" << g << "][" << w << "] = " << out[g * W + w] << ", want " << want);
    }
  CHECK(bad == 0);
  for (void* p : {static_cast<void*>(a), static_cast<void*>(X), static_cast<void*>(out)}) sinklab_emu::dev_free(p);
}

TEST_CASE("a column sum over 64M rows (65537 chunks) launches within the grid limits", "[cuda][emulator][attention]") {
  // The backward's shared-parameter sums (dnorm_weight, dsink, dv_slot) chunk B·H·S rows by 1024. At 65537 chunks
  // the old grid's y axis (one CTA row per chunk) was past 65535: this launch failed on a device. With a and X null
  // each row adds 1, so the sum is the row count, exact in float (a multiple of 1024 below 2^34).
  constexpr int chunk = 1024, nchunks = 65537;
  const int len = chunk * nchunks;
  CHECK_THROWS_AS(sinklab_emu::check_launch(dim3(1, nchunks, 1), dim3(cd::kRowThreads), 0), Error);
  float* out = emu_alloc<float>(1);
  const long before = sinklab_emu::cta().launches;
  {
    cd::Scratch sc(nullptr);
    cd::grouped_colsum(sc, static_cast<const float*>(nullptr), static_cast<const float*>(nullptr), 1, 1, len, 1, out,
                       nullptr);
  }
  CHECK(sinklab_emu::cta().launches == before + 2);  // the partial sums and the sum over chunks
  CHECK(double(out[0]) == double(len));
  sinklab_emu::dev_free(out);
}
