#pragma once
// bfloat16 storage type shared by both backends: 1 sign, 8 exponent, 7 mantissa bits (the top half of a float).
// Conversion rounds to nearest even; NaN stays NaN. Layout-compatible with CUDA's __nv_bfloat16.
#include <cstdint>
#include <cstring>
#include <ostream>

#include "sinklab/core/config.hpp"

namespace sinklab {

struct bf16 {
  uint16_t bits = 0;

  bf16() = default;
  SINKLAB_HOST_DEVICE explicit bf16(float f) : bits(from_float(f)) {}
  SINKLAB_HOST_DEVICE explicit operator float() const { return to_float(bits); }

  SINKLAB_HOST_DEVICE static uint16_t from_float(float f) {
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu)) return static_cast<uint16_t>((u >> 16) | 0x40u);  // quiet NaN
    const uint32_t rounding = 0x7fffu + ((u >> 16) & 1u);  // round half to even
    return static_cast<uint16_t>((u + rounding) >> 16);
  }
  SINKLAB_HOST_DEVICE static float to_float(uint16_t b) {
    const uint32_t u = static_cast<uint32_t>(b) << 16;
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
  }
};

inline std::ostream& operator<<(std::ostream& os, bf16 v) { return os << static_cast<float>(v); }

}  // namespace sinklab
