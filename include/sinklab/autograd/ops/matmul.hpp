#pragma once
// Matrix products. matmul(a, b, ta, tb) = op(a) op(b) with op transposing the last two axes when asked (batched; b may
// be 2-D and shared across the batch); linear(x, W, b) = x Wᵀ + b for x (…, in), W (out, in).
#include <source_location>
#include <utility>

#include "sinklab/autograd/var.hpp"

namespace sinklab::autograd {

namespace detail {
template <class T, class D>
Tensor<T, D> as_rows(const Tensor<T, D>& x) {
  const Shape& s = x.shape();
  return x.contiguous().reshape(
      {sinklab::numel(Shape(s.begin(), s.end() - 1)), s.back()});  // explicit rows: K may be 0
}
}  // namespace detail

template <class T, class D>
Var<T, D> matmul(const Var<T, D>& a, const Var<T, D>& b, bool ta = false, bool tb = false,
                 std::source_location loc = std::source_location::current()) {
  using Ops = TensorOps<D>;
  return make_result<T>(
      "matmul", Ops::matmul(a.value(), b.value(), ta, tb), {a, b},
      [a, b, ta, tb](const Tensor<T, D>& g) {
        const Tensor<T, D>& A = a.value();
        const Tensor<T, D>& B = b.value();
        if (a.requires_grad()) {
          const Tensor<T, D> ga = Ops::matmul(g, B, false, !tb);  // G op(B)ᵀ = d op(A)
          accumulate(a, ta ? ga.transpose(-1, -2) : ga);
        }
        if (!b.requires_grad()) return;
        const bool shared = B.dim() == 2 && A.dim() > 2;
        if (shared && !ta) {
          const Tensor<T, D> A2 = detail::as_rows(A), G2 = detail::as_rows(g);
          accumulate(b, tb ? Ops::matmul(G2, A2, true, false) : Ops::matmul(A2, G2, true, false));
        } else {
          Tensor<T, D> gb = tb ? Ops::matmul(g, A, true, ta) : Ops::matmul(A, g, !ta, false);
          while (shared && gb.dim() > 2) gb = Ops::reduce_axis(gb, 0, false, false);  // batch order: deterministic
          accumulate(b, gb);
        }
      },
      loc);
}

template <class T, class D>
Var<T, D> linear(const Var<T, D>& x, const Var<T, D>& weight, const Var<T, D>& bias,
                 std::source_location loc = std::source_location::current()) {
  using Ops = TensorOps<D>;
  SINKLAB_CHECK(weight.dim() == 2 && x.dim() >= 1 && x.shape().back() == weight.size(1), "linear: input ",
                to_string(x.shape()), " does not match weight (out, in) ", to_string(weight.shape()));
  const bool has_bias = bias.defined();
  if (has_bias)
    SINKLAB_CHECK(bias.shape() == Shape({weight.size(0)}), "linear: bias ", to_string(bias.shape()), " for weight ",
                  to_string(weight.shape()));
  Shape out_shape = x.shape();
  out_shape.back() = weight.size(0);
  Tensor<T, D> y = Ops::linear(detail::as_rows(x.value()), weight.value(), has_bias ? &bias.value() : nullptr);
  return make_result<T>(
      "linear", y.reshape(out_shape), {x, weight, bias},
      [x, weight, bias, has_bias](const Tensor<T, D>& g) {
        const bool want_x = x.requires_grad(), want_w = weight.requires_grad();
        const bool want_b = has_bias && bias.requires_grad();
        auto r = Ops::linear_grads(detail::as_rows(g), detail::as_rows(x.value()), weight.value(), want_x, want_w,
                                   want_b);
        if (want_x) {
          Tensor<T, D> dx_shaped = r.dx.reshape(x.shape());
          r.dx = Tensor<T, D>();  // so that dx_shaped holds its buffer alone and accumulate can adopt it
          accumulate(x, std::move(dx_shaped));
        }
        if (want_w) accumulate(weight, std::move(r.dw));
        if (want_b) accumulate(bias, r.db);
      },
      loc);
}

template <class T, class D>
Var<T, D> linear(const Var<T, D>& x, const Var<T, D>& weight,
                 std::source_location loc = std::source_location::current()) {
  return linear(x, weight, Var<T, D>(), loc);
}

}  // namespace sinklab::autograd
