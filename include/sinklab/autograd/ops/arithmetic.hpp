#pragma once
// Broadcasting arithmetic and scalar ops. Each op: forward, then its backward closure beside it.
#include <cmath>
#include <source_location>

#include "sinklab/autograd/var.hpp"
#include "sinklab/backend/cpu/elementwise.hpp"

namespace sinklab::autograd {

namespace cpu = sinklab::backend::cpu;

// d(a+b) = da + db (reduced over broadcast axes by accumulate)
template <class T>
Var<T> add(const Var<T>& a, const Var<T>& b, std::source_location loc = std::source_location::current()) {
  return make_result<T>("add", cpu::zip(a.value(), b.value(), [](T x, T y) { return x + y; }), {a, b},
                        [a, b](const Tensor<T>& g) {
                          accumulate(a, g);
                          accumulate(b, g);
                        },
                        loc);
}

// d(a-b) = da - db
template <class T>
Var<T> sub(const Var<T>& a, const Var<T>& b, std::source_location loc = std::source_location::current()) {
  return make_result<T>("sub", cpu::zip(a.value(), b.value(), [](T x, T y) { return x - y; }), {a, b},
                        [a, b](const Tensor<T>& g) {
                          accumulate(a, g);
                          if (b.requires_grad()) accumulate(b, cpu::map(g, [](T x) { return -x; }));
                        },
                        loc);
}

// d(ab) = b da + a db
template <class T>
Var<T> mul(const Var<T>& a, const Var<T>& b, std::source_location loc = std::source_location::current()) {
  return make_result<T>("mul", cpu::zip(a.value(), b.value(), [](T x, T y) { return x * y; }), {a, b},
                        [a, b](const Tensor<T>& g) {
                          if (a.requires_grad()) accumulate(a, cpu::zip(g, b.value(), [](T x, T y) { return x * y; }));
                          if (b.requires_grad()) accumulate(b, cpu::zip(g, a.value(), [](T x, T y) { return x * y; }));
                        },
                        loc);
}

// d(a/b) = da/b − a db/b²
template <class T>
Var<T> div(const Var<T>& a, const Var<T>& b, std::source_location loc = std::source_location::current()) {
  return make_result<T>(
      "div", cpu::zip(a.value(), b.value(), [](T x, T y) { return x / y; }), {a, b},
      [a, b](const Tensor<T>& g) {
        const Tensor<T> gb = cpu::zip(g, b.value(), [](T x, T y) { return x / y; });  // g / b
        if (a.requires_grad()) accumulate(a, gb);
        if (b.requires_grad()) {
          const Tensor<T> q = cpu::zip(a.value(), b.value(), [](T x, T y) { return x / y; });
          accumulate(b, cpu::zip(gb, q, [](T x, T y) { return -x * y; }));
        }
      },
      loc);
}

template <class T>
Var<T> neg(const Var<T>& a, std::source_location loc = std::source_location::current()) {
  return make_result<T>("neg", cpu::map(a.value(), [](T x) { return -x; }), {a},
                        [a](const Tensor<T>& g) { accumulate(a, cpu::map(g, [](T x) { return -x; })); }, loc);
}

// a + c
template <class T>
Var<T> add_scalar(const Var<T>& a, T c, std::source_location loc = std::source_location::current()) {
  return make_result<T>("add_scalar", cpu::map(a.value(), [c](T x) { return x + c; }), {a},
                        [a](const Tensor<T>& g) { accumulate(a, g); }, loc);
}

// c·a
template <class T>
Var<T> mul_scalar(const Var<T>& a, T c, std::source_location loc = std::source_location::current()) {
  return make_result<T>("mul_scalar", cpu::map(a.value(), [c](T x) { return x * c; }), {a},
                        [a, c](const Tensor<T>& g) { accumulate(a, cpu::map(g, [c](T x) { return x * c; })); }, loc);
}

// aᵖ; d = p aᵖ⁻¹ da
template <class T>
Var<T> pow(const Var<T>& a, T p, std::source_location loc = std::source_location::current()) {
  return make_result<T>("pow", cpu::map(a.value(), [p](T x) { return std::pow(x, p); }), {a},
                        [a, p](const Tensor<T>& g) {
                          accumulate(a, cpu::zip(g, a.value(), [p](T gx, T x) { return gx * p * std::pow(x, p - 1); }));
                        },
                        loc);
}

// Operator shorthands. An operator cannot take a defaulted std::source_location, so anomaly mode names this header
// for them; call add/sub/mul/div directly where the report should name your line.
template <class T>
Var<T> operator+(const Var<T>& a, const Var<T>& b) { return add(a, b); }
template <class T>
Var<T> operator-(const Var<T>& a, const Var<T>& b) { return sub(a, b); }
template <class T>
Var<T> operator*(const Var<T>& a, const Var<T>& b) { return mul(a, b); }
template <class T>
Var<T> operator/(const Var<T>& a, const Var<T>& b) { return div(a, b); }
template <class T>
Var<T> operator-(const Var<T>& a) { return neg(a); }
template <class T>
Var<T> operator+(const Var<T>& a, T c) { return add_scalar(a, c); }
template <class T>
Var<T> operator*(const Var<T>& a, T c) { return mul_scalar(a, c); }
template <class T>
Var<T> operator*(T c, const Var<T>& a) { return mul_scalar(a, c); }

}  // namespace sinklab::autograd
