#pragma once
// Matrix products. matmul(a, b, ta, tb) = op(a) op(b) with op transposing the last two axes when asked (batched; b may
// be 2-D and shared across the batch); linear(x, W, b) = x Wᵀ + b for x (…, in), W (out, in).
#include <source_location>
#include <utility>

#include "sinklab/autograd/var.hpp"
#include "sinklab/backend/cpu/gemm.hpp"
#include "sinklab/backend/cpu/reduce.hpp"

namespace sinklab::autograd {

namespace detail {
// x (…, K) as a contiguous (rows, K) matrix tensor.
template <class T>
Tensor<T> as_rows(const Tensor<T>& x) {
  const Shape& s = x.shape();
  return x.contiguous().reshape(
      {sinklab::numel(Shape(s.begin(), s.end() - 1)), s.back()});  // explicit rows: K may be 0
}
}  // namespace detail

// C = op(A) op(B):  d op(A) = G op(B)ᵀ,  d op(B) = op(A)ᵀ G  (transposed back when op transposes; a shared 2-D B
// sums its gradient over the batch)
template <class T>
Var<T> matmul(const Var<T>& a, const Var<T>& b, bool ta = false, bool tb = false,
              std::source_location loc = std::source_location::current()) {
  namespace cpu = backend::cpu;
  return make_result<T>(
      "matmul", cpu::matmul(a.value(), b.value(), ta, tb), {a, b},
      [a, b, ta, tb](const Tensor<T>& g) {
        const Tensor<T>& A = a.value();
        const Tensor<T>& B = b.value();
        if (a.requires_grad()) {
          const Tensor<T> ga = cpu::matmul(g, B, false, !tb);  // G op(B)ᵀ = d op(A)
          accumulate(a, ta ? ga.transpose(-1, -2) : ga);
        }
        if (!b.requires_grad()) return;
        const bool shared = B.dim() == 2 && A.dim() > 2;
        if (shared && !ta) {
          // Fold the batch into the rows: one (K × rows)·(rows × N) GEMM sums over the batch.
          const Tensor<T> A2 = detail::as_rows(A), G2 = detail::as_rows(g);
          accumulate(b, tb ? cpu::matmul(G2, A2, true, false) : cpu::matmul(A2, G2, true, false));
        } else {
          Tensor<T> gb = tb ? cpu::matmul(g, A, true, ta) : cpu::matmul(A, g, !ta, false);
          while (shared && gb.dim() > 2) gb = cpu::sum_axis(gb, 0, false);  // batch order: deterministic
          accumulate(b, gb);
        }
      },
      loc);
}

// y = x Wᵀ (+ b);  dx = G W,  dW = Gᵀ x (over all rows),  db = Σ_rows G. An undefined `bias` means none.
template <class T>
Var<T> linear(const Var<T>& x, const Var<T>& weight, const Var<T>& bias,
              std::source_location loc = std::source_location::current()) {
  namespace cpu = backend::cpu;
  SINKLAB_CHECK(weight.dim() == 2 && x.dim() >= 1 && x.shape().back() == weight.size(1), "linear: input ",
                to_string(x.shape()), " does not match weight (out, in) ", to_string(weight.shape()));
  const bool has_bias = bias.defined();
  if (has_bias)
    SINKLAB_CHECK(bias.shape() == Shape({weight.size(0)}), "linear: bias ", to_string(bias.shape()), " for weight ",
                  to_string(weight.shape()));
  Shape out_shape = x.shape();
  out_shape.back() = weight.size(0);
  Tensor<T> y = cpu::matmul(detail::as_rows(x.value()), weight.value(), false, true);
  if (has_bias && y.numel()) y.matrix().rowwise() += bias.value().contiguous().matrix().row(0);
  return make_result<T>(
      "linear", y.reshape(out_shape), {x, weight, bias},
      [x, weight, bias, has_bias](const Tensor<T>& g) {
        const Tensor<T> G2 = detail::as_rows(g);
        const bool want_x = x.requires_grad(), want_w = weight.requires_grad();
        Tensor<T> dx, dw;
        auto grad_x = [&] { dx = cpu::matmul(G2, weight.value(), false, false); };
        auto grad_w = [&] { dw = cpu::matmul(G2, detail::as_rows(x.value()), true, false); };
        // Note [dW beside dx]: dW (out × in) sums over every row, so a small layer's dW is one tile of the GEMM grid
        // and one thread runs it while the others wait. Then the two products run side by side instead, each as the
        // same single-threaded tiles as before (so the same bits), and they take equal time: both are rows·out·in
        // multiply-adds.
        if (want_x && want_w && sinklab::num_threads() > 1 && cpu::detail::gemm_one_tile(weight.size(0), weight.size(1))) {
#pragma omp parallel sections num_threads(2)
          {
#pragma omp section
            grad_x();
#pragma omp section
            grad_w();
          }
        } else {
          if (want_x) grad_x();
          if (want_w) grad_w();
        }
        if (want_x) {
          Tensor<T> dx_shaped = dx.reshape(x.shape());
          dx = Tensor<T>();  // so that dx_shaped holds its buffer alone and accumulate can adopt it
          accumulate(x, std::move(dx_shaped));
        }
        if (want_w) accumulate(weight, std::move(dw));
        if (has_bias && bias.requires_grad()) {
          Tensor<T> db({weight.size(0)});
          if (G2.numel()) db.matrix() = G2.matrix().colwise().sum();
          accumulate(bias, db);
        }
      },
      loc);
}

template <class T>
Var<T> linear(const Var<T>& x, const Var<T>& weight, std::source_location loc = std::source_location::current()) {
  return linear(x, weight, Var<T>(), loc);
}

}  // namespace sinklab::autograd
