#pragma once
// Elementwise math shared by the CPU tests and the CUDA kernels: each functor carries its forward and the
// derivative the backward needs. Plain C++ (no CUDA headers); SINKLAB_HOST_DEVICE makes them device-callable.
#include <cmath>

#include "sinklab/core/config.hpp"

namespace sinklab::backend::functors {

// --- unary: y = f(x); grad(x, y, dy) = dy * f'(x) ----------------------------------------------
struct Neg {
  SINKLAB_HOST_DEVICE float operator()(float x) const { return -x; }
  SINKLAB_HOST_DEVICE float grad(float, float, float dy) const { return -dy; }
};
struct Exp {
  SINKLAB_HOST_DEVICE float operator()(float x) const { return expf(x); }
  SINKLAB_HOST_DEVICE float grad(float, float y, float dy) const { return dy * y; }  // d exp = exp
};
struct Log {
  SINKLAB_HOST_DEVICE float operator()(float x) const { return logf(x); }
  SINKLAB_HOST_DEVICE float grad(float x, float, float dy) const { return dy / x; }
};
struct Sqrt {
  SINKLAB_HOST_DEVICE float operator()(float x) const { return sqrtf(x); }
  SINKLAB_HOST_DEVICE float grad(float, float y, float dy) const { return dy * 0.5f / y; }
};
struct Square {
  SINKLAB_HOST_DEVICE float operator()(float x) const { return x * x; }
  SINKLAB_HOST_DEVICE float grad(float x, float, float dy) const { return 2.0f * x * dy; }
};
struct Relu {
  SINKLAB_HOST_DEVICE float operator()(float x) const { return x > 0.0f ? x : 0.0f; }
  SINKLAB_HOST_DEVICE float grad(float x, float, float dy) const { return x > 0.0f ? dy : 0.0f; }
};
struct Sigmoid {
  // Stable on both tails: never evaluates exp of a large positive number.
  SINKLAB_HOST_DEVICE float operator()(float x) const {
    if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
    const float e = expf(x);
    return e / (1.0f + e);
  }
  SINKLAB_HOST_DEVICE float grad(float, float y, float dy) const { return dy * y * (1.0f - y); }
};
struct Tanh {
  SINKLAB_HOST_DEVICE float operator()(float x) const { return tanhf(x); }
  SINKLAB_HOST_DEVICE float grad(float, float y, float dy) const { return dy * (1.0f - y * y); }
};
// silu(x) = x·σ(x);  silu'(x) = σ(x)·(1 + x·(1 − σ(x)))
struct Silu {
  SINKLAB_HOST_DEVICE float operator()(float x) const { return x * Sigmoid{}(x); }
  SINKLAB_HOST_DEVICE float grad(float x, float, float dy) const {
    const float s = Sigmoid{}(x);
    return dy * s * (1.0f + x * (1.0f - s));
  }
};
// GELU, tanh approximation (Hendrycks & Gimpel 2016, eq. in §2): 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))).
struct GeluTanh {
  static constexpr float kC = 0.7978845608028654f;  // √(2/π)
  SINKLAB_HOST_DEVICE float operator()(float x) const {
    return 0.5f * x * (1.0f + tanhf(kC * (x + 0.044715f * x * x * x)));
  }
  SINKLAB_HOST_DEVICE float grad(float x, float, float dy) const {
    const float u = kC * (x + 0.044715f * x * x * x);
    const float t = tanhf(u);
    const float du = kC * (1.0f + 3.0f * 0.044715f * x * x);
    return dy * (0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * du);
  }
};

// d|x| = sign(x) (0 at 0 and for NaN), as the CPU op: dy times the sign, so a NaN dy stays NaN.
struct Abs {
  SINKLAB_HOST_DEVICE float operator()(float x) const { return fabsf(x); }
  SINKLAB_HOST_DEVICE float grad(float x, float, float dy) const {
    return dy * (x > 0.0f ? 1.0f : x < 0.0f ? -1.0f : 0.0f);
  }
};
// GELU, exact (erf) form — the CPU autograd op `gelu`: x·Φ(x) = ½x(1 + erf(x/√2));
// gelu'(x) = Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π).
struct Gelu {
  static constexpr float kInvSqrt2 = 0.7071067811865476f;     // 1/√2
  static constexpr float kInvSqrt2Pi = 0.3989422804014327f;   // 1/√(2π)
  SINKLAB_HOST_DEVICE float operator()(float x) const { return 0.5f * x * (1.0f + erff(x * kInvSqrt2)); }
  SINKLAB_HOST_DEVICE float grad(float x, float, float dy) const {
    return dy * (0.5f * (1.0f + erff(x * kInvSqrt2)) + x * kInvSqrt2Pi * expf(-0.5f * x * x));
  }
};

// --- unary with scalar parameters (cuda::ScalarOp). grad never reads y (the launcher passes none) ---------
// elu(x) = x (x > 0), α(eˣ − 1) otherwise;  elu'(x) = 1 or αeˣ. The CPU op writes αeˣ as y + α; here it is
// recomputed from x, the same value, without the cancellation y + α suffers when y is stored in bf16.
struct Elu {
  float alpha = 1.0f;
  SINKLAB_HOST_DEVICE float operator()(float x) const { return x > 0.0f ? x : alpha * expm1f(x); }
  SINKLAB_HOST_DEVICE float grad(float x, float, float dy) const { return x > 0.0f ? dy : dy * (alpha * expf(x)); }
};
// clamp(x, lo, hi);  d = [lo ≤ x ≤ hi]: passed through on the closed interval (boundaries included, as
// torch.clamp and the CPU op), 0 outside and for NaN. Forward keeps NaN.
struct Clamp {
  float lo, hi;
  SINKLAB_HOST_DEVICE float operator()(float x) const { return x < lo ? lo : x > hi ? hi : x; }
  SINKLAB_HOST_DEVICE float grad(float x, float, float dy) const {
    return dy * (x >= lo && x <= hi ? 1.0f : 0.0f);
  }
};
// xᵖ (scalar p);  d = p·xᵖ⁻¹ (as the CPU op: no special case, so p = 0 at x = 0 gives 0·∞ = NaN like it).
struct Pow {
  float p;
  SINKLAB_HOST_DEVICE float operator()(float x) const { return powf(x, p); }
  SINKLAB_HOST_DEVICE float grad(float x, float, float dy) const { return dy * p * powf(x, p - 1.0f); }
};
struct AddScalar {
  float c;
  SINKLAB_HOST_DEVICE float operator()(float x) const { return x + c; }
  SINKLAB_HOST_DEVICE float grad(float, float, float dy) const { return dy; }
};
// c·x; also the kernel of broadcast_to(g, shape, scale) (the backward of sum/mean).
struct MulScalar {
  float c;
  SINKLAB_HOST_DEVICE float operator()(float x) const { return x * c; }
  SINKLAB_HOST_DEVICE float grad(float, float, float dy) const { return dy * c; }
};

// --- masked_fill: y = value where mask ≠ 0, else x;  dx = dy where mask = 0, else 0 ----------------------
struct MaskedFill {
  float value;
  SINKLAB_HOST_DEVICE float operator()(float x, float m) const { return m != 0.0f ? value : x; }
};
struct MaskedFillGrad {
  SINKLAB_HOST_DEVICE float operator()(float dy, float m) const { return m != 0.0f ? 0.0f : dy; }
};

// --- binary: z = f(a, b); grad_a / grad_b give dz/da·dz, dz/db·dz -------------------------------
struct Add {
  SINKLAB_HOST_DEVICE float operator()(float a, float b) const { return a + b; }
  SINKLAB_HOST_DEVICE float grad_a(float, float, float dz) const { return dz; }
  SINKLAB_HOST_DEVICE float grad_b(float, float, float dz) const { return dz; }
};
struct Sub {
  SINKLAB_HOST_DEVICE float operator()(float a, float b) const { return a - b; }
  SINKLAB_HOST_DEVICE float grad_a(float, float, float dz) const { return dz; }
  SINKLAB_HOST_DEVICE float grad_b(float, float, float dz) const { return -dz; }
};
struct Mul {
  SINKLAB_HOST_DEVICE float operator()(float a, float b) const { return a * b; }
  SINKLAB_HOST_DEVICE float grad_a(float, float b, float dz) const { return dz * b; }
  SINKLAB_HOST_DEVICE float grad_b(float a, float, float dz) const { return dz * a; }
};
struct Div {
  SINKLAB_HOST_DEVICE float operator()(float a, float b) const { return a / b; }
  SINKLAB_HOST_DEVICE float grad_a(float, float b, float dz) const { return dz / b; }
  SINKLAB_HOST_DEVICE float grad_b(float a, float b, float dz) const { return -dz * a / (b * b); }
};
struct Max {
  SINKLAB_HOST_DEVICE float operator()(float a, float b) const { return a >= b ? a : b; }
  // Ties send the gradient to `a` (matches the CPU backend's first-argument convention).
  SINKLAB_HOST_DEVICE float grad_a(float a, float b, float dz) const { return a >= b ? dz : 0.0f; }
  SINKLAB_HOST_DEVICE float grad_b(float a, float b, float dz) const { return a >= b ? 0.0f : dz; }
};

}  // namespace sinklab::backend::functors
