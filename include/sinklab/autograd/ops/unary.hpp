#pragma once
// Pointwise unary ops. Each is one forward functor f(x) and one derivative functor df(x, y) (y = f(x), so ops whose
// derivative is cheapest in terms of the output — exp, sqrt, tanh, sigmoid — reuse it); backward is dx = g ⊙ df.
#include <cmath>
#include <numbers>
#include <source_location>
#include <type_traits>

#include "sinklab/autograd/var.hpp"
#include "sinklab/backend/cpu/elementwise.hpp"

namespace sinklab::autograd {

namespace detail {
// Records y = f(a) with backward dx = g ⊙ df(x, y). The closure keeps x and y (tensors share storage: no copy).
template <class T, class F, class DF>
Var<T> pointwise(const char* name, const Var<T>& a, F f, DF df, std::source_location loc) {
  Tensor<T> y = backend::cpu::map(a.value(), f);
  const Tensor<T> x = a.value(), yk = y;
  return make_result<T>(
      name, std::move(y), {a},
      [a, x, yk, df](const Tensor<T>& g_in) {
        const Tensor<T> g = g_in.contiguous(), xc = x.contiguous();
        Tensor<T> dx(xc.shape());
        const T *gp = g.data(), *xp = xc.data(), *yp = yk.data();
        T* o = dx.data();
        const int64_t n = dx.numel();
#pragma omp parallel for if (n > kParallelGrain)
        for (int64_t i = 0; i < n; ++i) o[i] = gp[i] * df(xp[i], yp[i]);
        accumulate(a, dx);
      },
      loc);
}
}  // namespace detail

// d eˣ = eˣ
template <class T>
Var<T> exp(const Var<T>& a, std::source_location loc = std::source_location::current()) {
  return detail::pointwise(
      "exp", a, [](T x) { return std::exp(x); }, [](T, T y) { return y; }, loc);
}

// d log x = 1/x
template <class T>
Var<T> log(const Var<T>& a, std::source_location loc = std::source_location::current()) {
  return detail::pointwise(
      "log", a, [](T x) { return std::log(x); }, [](T x, T) { return T(1) / x; }, loc);
}

// d √x = 1/(2√x)
template <class T>
Var<T> sqrt(const Var<T>& a, std::source_location loc = std::source_location::current()) {
  return detail::pointwise(
      "sqrt", a, [](T x) { return std::sqrt(x); }, [](T, T y) { return T(0.5) / y; }, loc);
}

// d|x| = sign(x) (0 at 0)
template <class T>
Var<T> abs(const Var<T>& a, std::source_location loc = std::source_location::current()) {
  return detail::pointwise(
      "abs", a, [](T x) { return std::abs(x); }, [](T x, T) { return x > 0   ? T(1)
                                                                     : x < 0 ? T(-1)
                                                                             : T(0); }, loc);
}

// d tanh x = 1 − tanh²x
template <class T>
Var<T> tanh(const Var<T>& a, std::source_location loc = std::source_location::current()) {
  return detail::pointwise(
      "tanh", a, [](T x) { return std::tanh(x); }, [](T, T y) { return T(1) - y * y; }, loc);
}

// σ(x) = 1/(1 + e⁻ˣ);  dσ = σ(1 − σ)
template <class T>
Var<T> sigmoid(const Var<T>& a, std::source_location loc = std::source_location::current()) {
  return detail::pointwise(
      "sigmoid", a, [](T x) { return T(1) / (T(1) + std::exp(-x)); }, [](T, T y) { return y * (T(1) - y); }, loc);
}

// silu(x) = x σ(x);  d = σ(x)(1 + x(1 − σ(x)))
template <class T>
Var<T> silu(const Var<T>& a, std::source_location loc = std::source_location::current()) {
  return detail::pointwise(
      "silu", a, [](T x) { return x / (T(1) + std::exp(-x)); },
      [](T x, T) {
        const T s = T(1) / (T(1) + std::exp(-x));
        return s * (T(1) + x * (T(1) - s));
      },
      loc);
}

// gelu(x) = x Φ(x) = ½x(1 + erf(x/√2));  d = Φ(x) + x φ(x), φ(x) = e^(−x²/2)/√(2π)
template <class T>
Var<T> gelu(const Var<T>& a, std::source_location loc = std::source_location::current()) {
  constexpr T inv_sqrt2 = T(1) / std::numbers::sqrt2_v<T>;
  constexpr T inv_sqrt2pi = std::numbers::inv_sqrtpi_v<T> * inv_sqrt2;
  return detail::pointwise(
      "gelu", a, [](T x) { return T(0.5) * x * (T(1) + std::erf(x * inv_sqrt2)); },
      [](T x, T) { return T(0.5) * (T(1) + std::erf(x * inv_sqrt2)) + x * inv_sqrt2pi * std::exp(T(-0.5) * x * x); },
      loc);
}

// relu(x) = max(x, 0);  d = [x > 0]
template <class T>
Var<T> relu(const Var<T>& a, std::source_location loc = std::source_location::current()) {
  return detail::pointwise(
      "relu", a, [](T x) { return x > 0 ? x : T(0); }, [](T x, T) { return x > 0 ? T(1) : T(0); }, loc);
}

// elu(x) = x (x > 0), α(eˣ − 1) otherwise;  d = 1 or αeˣ = y + α
template <class T>
Var<T> elu(const Var<T>& a, std::type_identity_t<T> alpha = T(1),
           std::source_location loc = std::source_location::current()) {
  return detail::pointwise(
      "elu", a, [alpha](T x) { return x > 0 ? x : alpha * std::expm1(x); },
      [alpha](T x, T y) { return x > 0 ? T(1) : y + alpha; }, loc);
}

// clamp(x, lo, hi);  d = [lo ≤ x ≤ hi] (gradient 0 outside, passed through on the boundary as PyTorch does)
template <class T>
Var<T> clamp(const Var<T>& a, std::type_identity_t<T> lo, std::type_identity_t<T> hi,
             std::source_location loc = std::source_location::current()) {
  SINKLAB_CHECK(!(hi < lo), "clamp: lo ", lo, " > hi ", hi);
  return detail::pointwise(
      "clamp", a, [lo, hi](T x) { return x < lo   ? lo
                                         : x > hi ? hi
                                                  : x; },
      [lo, hi](T x, T) { return x >= lo && x <= hi ? T(1) : T(0); }, loc);
}

// y = value where mask ≠ 0, else a (mask broadcast to a's shape);  d = [mask = 0]
template <class T>
Var<T> masked_fill(const Var<T>& a, const Tensor<T>& mask, std::type_identity_t<T> value,
                   std::source_location loc = std::source_location::current()) {
  SINKLAB_CHECK(broadcast_shapes(a.shape(), mask.shape()) == a.shape(), "masked_fill: mask of shape ",
                to_string(mask.shape()), " does not broadcast to the input shape ", to_string(a.shape()));
  Tensor<T> y = backend::cpu::zip(a.value(), mask, [value](T x, T m) { return m != T(0) ? value : x; });
  return make_result<T>(
      "masked_fill", std::move(y), {a},
      [a, mask](const Tensor<T>& g) {
        accumulate(a, backend::cpu::zip(g, mask, [](T gx, T m) { return m != T(0) ? T(0) : gx; }));
      },
      loc);
}

}  // namespace sinklab::autograd
