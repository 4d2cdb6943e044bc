#pragma once
// Pointwise unary ops. Each is one forward functor f(x) and one derivative functor df(x, y) (y = f(x), so ops whose
// derivative is cheapest in terms of the output — exp, sqrt, tanh, sigmoid — reuse it); backward is dx = g ⊙ df.
// The CPU runs f and df (in T, so the gradient checks run them in double); a backend that chooses its kernel by
// kind (CUDA: backend/functors/elementwise.hpp, fp32) reads the PointwiseSpec instead.
#include <cmath>
#include <numbers>
#include <source_location>
#include <type_traits>

#include "sinklab/autograd/var.hpp"

namespace sinklab::autograd {

namespace detail {
// Records y = f(a) with backward dx = g ⊙ df(x, y). The closure keeps x and y (tensors share storage: no copy).
template <class T, class D, class F, class DF>
Var<T, D> pointwise(const char* name, const Var<T, D>& a, PointwiseSpec spec, F f, DF df, std::source_location loc) {
  Tensor<T, D> y = TensorOps<D>::pointwise(a.value(), spec, f);
  const Tensor<T, D> x = a.value(), yk = y;
  return make_result<T>(
      name, std::move(y), {a},
      [a, x, yk, spec, df](const Tensor<T, D>& g) { accumulate(a, TensorOps<D>::pointwise_grad(x, yk, g, spec, df)); },
      loc);
}
}  // namespace detail

// d eˣ = eˣ
template <class T, class D>
Var<T, D> exp(const Var<T, D>& a, std::source_location loc = std::source_location::current()) {
  return detail::pointwise(
      "exp", a, PointwiseSpec{PointwiseKind::Exp}, [](T x) { return std::exp(x); }, [](T, T y) { return y; }, loc);
}

// d log x = 1/x
template <class T, class D>
Var<T, D> log(const Var<T, D>& a, std::source_location loc = std::source_location::current()) {
  return detail::pointwise(
      "log", a, PointwiseSpec{PointwiseKind::Log}, [](T x) { return std::log(x); }, [](T x, T) { return T(1) / x; }, loc);
}

// d √x = 1/(2√x)
template <class T, class D>
Var<T, D> sqrt(const Var<T, D>& a, std::source_location loc = std::source_location::current()) {
  return detail::pointwise(
      "sqrt", a, PointwiseSpec{PointwiseKind::Sqrt}, [](T x) { return std::sqrt(x); }, [](T, T y) { return T(0.5) / y; }, loc);
}

// d|x| = sign(x) (0 at 0)
template <class T, class D>
Var<T, D> abs(const Var<T, D>& a, std::source_location loc = std::source_location::current()) {
  return detail::pointwise(
      "abs", a, PointwiseSpec{PointwiseKind::Abs}, [](T x) { return std::abs(x); }, [](T x, T) { return x > 0   ? T(1)
                                                                     : x < 0 ? T(-1)
                                                                             : T(0); }, loc);
}

// d tanh x = 1 − tanh²x
template <class T, class D>
Var<T, D> tanh(const Var<T, D>& a, std::source_location loc = std::source_location::current()) {
  return detail::pointwise(
      "tanh", a, PointwiseSpec{PointwiseKind::Tanh}, [](T x) { return std::tanh(x); }, [](T, T y) { return T(1) - y * y; }, loc);
}

// σ(x) = 1/(1 + e⁻ˣ);  dσ = σ(1 − σ)
template <class T, class D>
Var<T, D> sigmoid(const Var<T, D>& a, std::source_location loc = std::source_location::current()) {
  return detail::pointwise(
      "sigmoid", a, PointwiseSpec{PointwiseKind::Sigmoid}, [](T x) { return T(1) / (T(1) + std::exp(-x)); }, [](T, T y) { return y * (T(1) - y); }, loc);
}

// silu(x) = x σ(x);  d = σ(x)(1 + x(1 − σ(x)))
template <class T, class D>
Var<T, D> silu(const Var<T, D>& a, std::source_location loc = std::source_location::current()) {
  return detail::pointwise(
      "silu", a, PointwiseSpec{PointwiseKind::Silu}, [](T x) { return x / (T(1) + std::exp(-x)); },
      [](T x, T) {
        const T s = T(1) / (T(1) + std::exp(-x));
        return s * (T(1) + x * (T(1) - s));
      },
      loc);
}

// gelu(x) = x Φ(x) = ½x(1 + erf(x/√2));  d = Φ(x) + x φ(x), φ(x) = e^(−x²/2)/√(2π)
template <class T, class D>
Var<T, D> gelu(const Var<T, D>& a, std::source_location loc = std::source_location::current()) {
  constexpr T inv_sqrt2 = T(1) / std::numbers::sqrt2_v<T>;
  constexpr T inv_sqrt2pi = std::numbers::inv_sqrtpi_v<T> * inv_sqrt2;
  return detail::pointwise(
      "gelu", a, PointwiseSpec{PointwiseKind::Gelu}, [](T x) { return T(0.5) * x * (T(1) + std::erf(x * inv_sqrt2)); },
      [](T x, T) { return T(0.5) * (T(1) + std::erf(x * inv_sqrt2)) + x * inv_sqrt2pi * std::exp(T(-0.5) * x * x); },
      loc);
}

// relu(x) = max(x, 0);  d = [x > 0]
template <class T, class D>
Var<T, D> relu(const Var<T, D>& a, std::source_location loc = std::source_location::current()) {
  return detail::pointwise(
      "relu", a, PointwiseSpec{PointwiseKind::Relu}, [](T x) { return x > 0 ? x : T(0); }, [](T x, T) { return x > 0 ? T(1) : T(0); }, loc);
}

// elu(x) = x (x > 0), α(eˣ − 1) otherwise;  d = 1 or αeˣ = y + α
template <class T, class D>
Var<T, D> elu(const Var<T, D>& a, std::type_identity_t<T> alpha = T(1),
           std::source_location loc = std::source_location::current()) {
  return detail::pointwise(
      "elu", a, PointwiseSpec{PointwiseKind::Elu, float(alpha)}, [alpha](T x) { return x > 0 ? x : alpha * std::expm1(x); },
      [alpha](T x, T y) { return x > 0 ? T(1) : y + alpha; }, loc);
}

// clamp(x, lo, hi);  d = [lo ≤ x ≤ hi] (gradient 0 outside, passed through on the boundary as PyTorch does)
template <class T, class D>
Var<T, D> clamp(const Var<T, D>& a, std::type_identity_t<T> lo, std::type_identity_t<T> hi,
             std::source_location loc = std::source_location::current()) {
  SINKLAB_CHECK(!(hi < lo), "clamp: lo ", lo, " > hi ", hi);
  return detail::pointwise(
      "clamp", a, PointwiseSpec{PointwiseKind::Clamp, float(lo), float(hi)}, [lo, hi](T x) { return x < lo   ? lo
                                         : x > hi ? hi
                                                  : x; },
      [lo, hi](T x, T) { return x >= lo && x <= hi ? T(1) : T(0); }, loc);
}

// y = value where mask ≠ 0, else a (mask broadcast to a's shape);  d = [mask = 0]
template <class T, class D>
Var<T, D> masked_fill(const Var<T, D>& a, const Tensor<T, D>& mask, std::type_identity_t<T> value,
                      std::source_location loc = std::source_location::current()) {
  SINKLAB_CHECK(broadcast_shapes(a.shape(), mask.shape()) == a.shape(), "masked_fill: mask of shape ",
                to_string(mask.shape()), " does not broadcast to the input shape ", to_string(a.shape()));
  return make_result<T>(
      "masked_fill", TensorOps<D>::masked_fill(a.value(), mask, T(value)), {a},
      [a, mask](const Tensor<T, D>& g) { accumulate(a, TensorOps<D>::masked_fill_grad(g, mask)); }, loc);
}

}  // namespace sinklab::autograd
