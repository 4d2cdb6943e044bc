#pragma once
// Counter-based RNG (Philox4x32-10, Salmon et al. SC'11). Element n of a random tensor depends only on
// (seed, stream, n), so initialisation is identical on every platform, thread count and device.
#include <array>
#include <cmath>
#include <cstdint>

#include "sinklab/core/config.hpp"

namespace sinklab {

struct Philox {
  using Block = std::array<uint32_t, 4>;

  SINKLAB_HOST_DEVICE static Block generate(uint64_t seed, uint64_t stream, uint64_t counter) {
    uint32_t c0 = static_cast<uint32_t>(counter), c1 = static_cast<uint32_t>(counter >> 32);
    uint32_t c2 = static_cast<uint32_t>(stream), c3 = static_cast<uint32_t>(stream >> 32);
    uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
    for (int round = 0; round < 10; ++round) {
      const uint64_t p0 = static_cast<uint64_t>(0xD2511F53u) * c0;
      const uint64_t p1 = static_cast<uint64_t>(0xCD9E8D57u) * c2;
      const uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1 ^ k0;
      const uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3 ^ k1;
      c1 = static_cast<uint32_t>(p1);
      c3 = static_cast<uint32_t>(p0);
      c0 = n0;
      c2 = n2;
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    return {c0, c1, c2, c3};
  }

  // Uniform in (0, 1): never 0, so log() below is finite.
  SINKLAB_HOST_DEVICE static double to_unit(uint32_t hi, uint32_t lo) {
    const uint64_t bits = (static_cast<uint64_t>(hi) << 21) ^ (lo >> 11);  // 53 random bits
    return (static_cast<double>(bits & ((1ull << 53) - 1)) + 0.5) * (1.0 / 9007199254740992.0);
  }

  SINKLAB_HOST_DEVICE static double uniform(uint64_t seed, uint64_t stream, uint64_t index) {
    const Block b = generate(seed, stream, index);
    return to_unit(b[0], b[1]);
  }

  // Standard normal by Box–Muller from one Philox block.
  SINKLAB_HOST_DEVICE static double normal(uint64_t seed, uint64_t stream, uint64_t index) {
    const Block b = generate(seed, stream, index);
    const double u1 = to_unit(b[0], b[1]), u2 = to_unit(b[2], b[3]);
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
};

// A seeded stream that hands out consecutive counters; state is two integers, so it checkpoints exactly.
struct RngStream {
  uint64_t seed = 0, stream = 0, offset = 0;
  double uniform() { return Philox::uniform(seed, stream, offset++); }
  double normal() { return Philox::normal(seed, stream, offset++); }
  uint64_t next_u64() {
    const auto b = Philox::generate(seed, stream, offset++);
    return (static_cast<uint64_t>(b[0]) << 32) | b[1];
  }
};

}  // namespace sinklab
