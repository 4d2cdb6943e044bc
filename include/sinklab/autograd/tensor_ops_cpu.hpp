#pragma once
// TensorOps<Cpu>: the autograd ops' tensor arithmetic on the Eigen backend (autograd/tensor_ops.hpp). Each function
// is the code its op ran before the ops became device-generic, moved here unchanged, so the CPU's results are the
// same to the bit.
#include <cmath>
#include <memory>
#include <utility>
#include <vector>

#include "sinklab/autograd/tensor_ops.hpp"
#include "sinklab/backend/cpu/argmax.hpp"
#include "sinklab/backend/cpu/broadcast.hpp"
#include "sinklab/backend/cpu/cross_entropy.hpp"
#include "sinklab/backend/cpu/elementwise.hpp"
#include "sinklab/backend/cpu/embedding.hpp"
#include "sinklab/backend/cpu/gemm.hpp"
#include "sinklab/backend/cpu/norm.hpp"
#include "sinklab/backend/cpu/reduce.hpp"
#include "sinklab/backend/cpu/rope.hpp"
#include "sinklab/backend/cpu/softmax.hpp"
#include "sinklab/core/parallel.hpp"
#include "sinklab/tensor/tensor.hpp"

namespace sinklab::autograd {

template <>
struct TensorOps<Cpu> {
  // --- the tape's needs, and host transfers (here: none) --------------------------------------------------------
  template <class T>
  static Tensor<T> full(Shape s, T v) {
    return Tensor<T>::full(std::move(s), v);
  }
  template <class T>
  static Tensor<T> zeros(Shape s) {
    return Tensor<T>(std::move(s));
  }
  template <class T>
  static Tensor<T> from_host(const Tensor<T>& h) {
    return h;
  }
  template <class T>
  static Tensor<T> to_host(const Tensor<T>& t) {
    return t;
  }
  // Overwrites `dst` in place with host values of its shape (views and handles of it see them).
  template <class T>
  static void copy_from_host(Tensor<T>& dst, const Tensor<T>& h) {
    dst.copy_(h);
  }
  template <class T>
  static T item(const Tensor<T>& t) {
    return t.item();
  }
  template <class T>
  static bool sole_owner(const Tensor<T>& t) {
    return t.sole_owner();
  }
  template <class T>
  static void add_into(Tensor<T>& dst, const Tensor<T>& g) {
    if (!dst.defined()) {
      dst = g.clone();  // own it: backward functions may hand the same tensor to several inputs
    } else {
      auto d = dst.array();
      const Tensor<T> gc = g.contiguous();
      d += gc.array();
    }
  }
  template <class T>
  static Tensor<T> sum_to(const Tensor<T>& g, const Shape& shape) {
    return backend::cpu::sum_to(g, shape);
  }
  template <class T>
  static bool all_finite(const Tensor<T>& t) {
    const auto g = t.contiguous();
    for (int64_t k = 0; k < g.numel(); ++k)
      if (!std::isfinite(static_cast<double>(g.data()[k]))) return false;
    return true;
  }

  // --- arithmetic ---------------------------------------------------------------------------------------------
  template <class T>
  static Tensor<T> binary(Arith op, const Tensor<T>& a, const Tensor<T>& b) {
    namespace cpu = backend::cpu;
    switch (op) {
      case Arith::Add: return cpu::zip(a, b, [](T x, T y) { return x + y; });
      case Arith::Sub: return cpu::zip(a, b, [](T x, T y) { return x - y; });
      case Arith::Mul: return cpu::zip(a, b, [](T x, T y) { return x * y; });
      case Arith::Div: return cpu::zip(a, b, [](T x, T y) { return x / y; });
    }
    SINKLAB_FAIL("binary: unknown op");
  }
  template <class T>
  static Tensor<T> neg(const Tensor<T>& x) {
    return backend::cpu::map(x, [](T v) { return -v; });
  }
  template <class T>
  static Tensor<T> add_scalar(const Tensor<T>& x, T c) {
    return backend::cpu::map(x, [c](T v) { return v + c; });
  }
  template <class T>
  static Tensor<T> mul_scalar(const Tensor<T>& x, T c) {
    return backend::cpu::map(x, [c](T v) { return v * c; });
  }
  template <class T>
  static Tensor<T> pow(const Tensor<T>& x, T p) {
    return backend::cpu::map(x, [p](T v) { return std::pow(v, p); });
  }
  // g · p xᵖ⁻¹
  template <class T>
  static Tensor<T> pow_grad(const Tensor<T>& g, const Tensor<T>& x, T p) {
    return backend::cpu::zip(g, x, [p](T gx, T v) { return gx * p * std::pow(v, p - 1); });
  }

  // y = f(x); the kind is for backends that choose a kernel by it.
  template <class T, class F>
  static Tensor<T> pointwise(const Tensor<T>& x, PointwiseSpec, F f) {
    return backend::cpu::map(x, f);
  }
  // dx = g ⊙ df(x, y)
  template <class T, class DF>
  static Tensor<T> pointwise_grad(const Tensor<T>& x, const Tensor<T>& y, const Tensor<T>& g_in, PointwiseSpec, DF df) {
    const Tensor<T> g = g_in.contiguous(), xc = x.contiguous();
    Tensor<T> dx(xc.shape());
    const T *gp = g.data(), *xp = xc.data(), *yp = y.data();
    T* o = dx.data();
    const int64_t n = dx.numel();
#pragma omp parallel for if (n > kParallelGrain)
    for (int64_t i = 0; i < n; ++i) o[i] = gp[i] * df(xp[i], yp[i]);
    return dx;
  }
  template <class T>
  static Tensor<T> masked_fill(const Tensor<T>& x, const Tensor<T>& mask, T value) {
    return backend::cpu::zip(x, mask, [value](T v, T m) { return m != T(0) ? value : v; });
  }
  template <class T>
  static Tensor<T> masked_fill_grad(const Tensor<T>& g, const Tensor<T>& mask) {
    return backend::cpu::zip(g, mask, [](T gx, T m) { return m != T(0) ? T(0) : gx; });
  }

  // --- products -----------------------------------------------------------------------------------------------
  template <class T>
  static Tensor<T> matmul(const Tensor<T>& a, const Tensor<T>& b, bool ta, bool tb) {
    return backend::cpu::matmul(a, b, ta, tb);
  }
  // x2 (N, in) · Wᵀ (+ bias), (N, out)
  template <class T>
  static Tensor<T> linear(const Tensor<T>& x2, const Tensor<T>& w, const Tensor<T>* bias) {
    Tensor<T> y = backend::cpu::matmul(x2, w, false, true);
    if (bias && y.numel()) y.matrix().rowwise() += bias->contiguous().matrix().row(0);
    return y;
  }
  template <class T>
  struct LinearGrads {
    Tensor<T> dx, dw, db;
  };
  // Note [dW beside dx]: a small layer's two products run side by side, one thread each.
  template <class T>
  static LinearGrads<T> linear_grads(const Tensor<T>& g2, const Tensor<T>& x2, const Tensor<T>& w, bool want_x,
                                     bool want_w, bool want_b) {
    namespace cpu = backend::cpu;
    LinearGrads<T> r;
    auto grad_x = [&] { r.dx = cpu::matmul(g2, w, false, false); };
    auto grad_w = [&] { r.dw = cpu::matmul(g2, x2, true, false); };
    if (want_x && want_w && sinklab::num_threads() > 1 && cpu::detail::gemm_one_tile(w.size(0), w.size(1))) {
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
    if (want_b) {
      r.db = Tensor<T>({w.size(0)});
      if (g2.numel()) r.db.matrix() = g2.matrix().colwise().sum();
    }
    return r;
  }

  // --- reductions ---------------------------------------------------------------------------------------------
  template <class T>
  static Tensor<T> reduce_all(const Tensor<T>& x, bool mean) {
    const T s = backend::cpu::sum_all(x);
    return Tensor<T>::scalar(mean ? s / static_cast<T>(x.numel()) : s);
  }
  template <class T>
  static Tensor<T> reduce_all_grad(const Tensor<T>& g, const Shape& shape, bool mean) {
    return Tensor<T>::full(shape, mean ? g.item() / static_cast<T>(numel(shape)) : g.item());
  }
  template <class T>
  static Tensor<T> reduce_axis(const Tensor<T>& x, int axis, bool keepdim, bool mean) {
    Tensor<T> y = backend::cpu::sum_axis(x, axis, keepdim);
    if (!mean) return y;
    const T n = static_cast<T>(x.shape()[axis]);
    return backend::cpu::map(y, [n](T v) { return v / n; });
  }
  template <class T>
  static Tensor<T> reduce_axis_grad(const Tensor<T>& g, const Shape& shape, int axis, bool, bool mean) {
    const T scale = mean ? T(1) / static_cast<T>(shape[axis]) : T(1);
    Shape keep = shape;
    keep[axis] = 1;
    Tensor<T> gk = g.reshape(keep);
    if (scale != T(1)) gk = backend::cpu::map(gk, [scale](T x) { return x * scale; });
    return backend::cpu::broadcast_to(gk, shape);
  }
  // Max along an axis; `at` is the chosen index per output element (the first NaN, else the first maximum).
  template <class T>
  struct MaxResult {
    Tensor<T> values;
    std::shared_ptr<const std::vector<int64_t>> at;
  };
  template <class T>
  static MaxResult<T> max_axis(const Tensor<T>& x, int axis, bool keepdim) {
    auto r = backend::cpu::max_with_index(x, axis, keepdim);
    return {std::move(r.values), std::make_shared<const std::vector<int64_t>>(std::move(r.at))};
  }
  template <class T>
  static Tensor<T> max_axis_grad(const Tensor<T>& g_in, const MaxResult<T>& m, const Shape& shape, int axis, bool) {
    const Tensor<T> g = g_in.contiguous();
    const auto v = backend::cpu::axis_view(shape, axis);
    Tensor<T> dx(shape);
    for (int64_t o = 0; o < v.outer; ++o)
      for (int64_t i = 0; i < v.inner; ++i) {
        const int64_t e = o * v.inner + i;
        dx.data()[(o * v.n + (*m.at)[e]) * v.inner + i] = g.data()[e];
      }
    return dx;
  }

  // --- softmax ------------------------------------------------------------------------------------------------
  template <class T>
  static Tensor<T> softmax(const Tensor<T>& x, int axis, bool log) {
    return backend::cpu::softmax_forward(x, axis, log);
  }
  template <class T>
  static Tensor<T> softmax_grad(const Tensor<T>& y, const Tensor<T>& g, int axis, bool log) {
    return backend::cpu::softmax_backward(y, g, axis, log);
  }

  // --- cross-entropy (mean over the rows whose target is not ignore_index) ----------------------------------------
  template <class T>
  struct CrossEntropy {
    Tensor<T> loss;  // scalar
    Tensor<T> xc;
    Tensor<int32_t> tc;
    std::shared_ptr<const std::vector<T>> lse;
    int32_t ignore_index = -100;
    int64_t count = 0;
  };
  template <class T>
  static CrossEntropy<T> cross_entropy(const Tensor<T>& logits, const Tensor<int32_t>& targets, int32_t ignore_index) {
    backend::cpu::check_cross_entropy_args(logits.shape(), targets, ignore_index);
    namespace cpu = backend::cpu;
    CrossEntropy<T> ce;
    ce.xc = logits.contiguous();
    ce.tc = targets.contiguous();
    ce.ignore_index = ignore_index;
    auto rows = cpu::cross_entropy_forward(ce.xc, ce.tc, ignore_index);
    T total = 0;  // sequential over rows: deterministic
    for (int64_t i = 0; i < rows.loss.numel(); ++i) total += rows.loss.data()[i];
    ce.count = rows.count;
    ce.loss = Tensor<T>::scalar(ce.count ? total / static_cast<T>(ce.count) : T(0));
    ce.lse = std::make_shared<const std::vector<T>>(std::move(rows.lse));
    return ce;
  }
  template <class T>
  static Tensor<T> cross_entropy_grad(const CrossEntropy<T>& ce, const Tensor<T>& g) {
    if (ce.count == 0) return Tensor<T>(ce.xc.shape());
    const T scale = g.item() / static_cast<T>(ce.count);
    return backend::cpu::cross_entropy_backward(ce.xc, ce.tc, *ce.lse, ce.ignore_index,
                                                [scale](int64_t) { return scale; });
  }

  // --- embedding (ids checked by the caller) ----------------------------------------------------------------------
  // Integer ids and targets arrive on the host; a device backend copies them over here.
  static Tensor<int32_t> ids(const Tensor<int32_t>& host) { return host; }
  template <class T>
  static Tensor<T> embedding(const Tensor<T>& w, const Tensor<int32_t>& ids, Shape out_shape) {
    return backend::cpu::embedding_gather(w.contiguous(), ids, std::move(out_shape));
  }
  template <class T>
  static Tensor<T> embedding_grad(const Tensor<T>& g, const Tensor<int32_t>& ids, int64_t vocab, int64_t d) {
    return backend::cpu::embedding_scatter(g.contiguous(), ids, vocab, d);
  }

  // --- norms (weight and bias may be undefined) ---------------------------------------------------------------
  template <class T>
  struct Norm {
    Tensor<T> y, xc, wc;
    std::shared_ptr<const std::pair<std::vector<T>, std::vector<T>>> stats;  // mean (LayerNorm), rstd
  };
  template <class T>
  struct NormGrads {
    Tensor<T> dx, dw, db;
  };
  template <class T>
  static Norm<T> rms_norm(const Tensor<T>& x, const Tensor<T>& w, T eps) {
    Norm<T> n;
    n.xc = x.contiguous();
    if (w.defined()) n.wc = w.contiguous();
    auto f = backend::cpu::rms_norm_forward(n.xc, n.wc.defined() ? n.wc.data() : nullptr, eps);
    n.y = std::move(f.y);
    n.stats = std::make_shared<const std::pair<std::vector<T>, std::vector<T>>>(std::vector<T>{}, std::move(f.rstd));
    return n;
  }
  template <class T>
  static NormGrads<T> rms_norm_grad(const Norm<T>& n, const Tensor<T>& g, bool want_w) {
    auto b = backend::cpu::rms_norm_backward(n.xc, n.wc.defined() ? n.wc.data() : nullptr, n.stats->second,
                                             g.contiguous(), want_w);
    return {std::move(b.dx), std::move(b.dw), {}};
  }
  template <class T>
  static Norm<T> layer_norm(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& bias, T eps) {
    Norm<T> n;
    n.xc = x.contiguous();
    Tensor<T> bc;
    if (w.defined()) n.wc = w.contiguous();
    if (bias.defined()) bc = bias.contiguous();
    auto f = backend::cpu::layer_norm_forward(n.xc, n.wc.defined() ? n.wc.data() : nullptr,
                                              bc.defined() ? bc.data() : nullptr, eps);
    n.y = std::move(f.y);
    n.stats = std::make_shared<const std::pair<std::vector<T>, std::vector<T>>>(std::move(f.mean), std::move(f.rstd));
    return n;
  }
  template <class T>
  static NormGrads<T> layer_norm_grad(const Norm<T>& n, const Tensor<T>& g, bool want_w, bool want_b) {
    auto b = backend::cpu::layer_norm_backward(n.xc, n.wc.defined() ? n.wc.data() : nullptr, n.stats->first,
                                               n.stats->second, g.contiguous(), want_w, want_b);
    return {std::move(b.dx), std::move(b.dw), std::move(b.db)};
  }

  // --- RoPE ---------------------------------------------------------------------------------------------------
  template <class T>
  struct Rope {
    std::shared_ptr<const backend::cpu::RopeTable<T>> table;
    backend::functors::RopeLayout layout;
  };
  template <class T>
  static Rope<T> rope_plan(const Shape& x, double base, backend::functors::RopeLayout layout, int64_t offset) {
    return {std::make_shared<const backend::cpu::RopeTable<T>>(
                backend::cpu::rope_table<T>(x[x.size() - 2], x.back(), base, offset)),
            layout};
  }
  template <class T>
  static Tensor<T> rope(const Tensor<T>& x, const Rope<T>& r, bool inverse) {
    return backend::cpu::rope_apply(x, *r.table, r.layout, inverse);
  }

  // --- shapes -------------------------------------------------------------------------------------------------
  // The gradient of x.slice(axis, start, end): g placed in zeros of x's shape.
  template <class T>
  static Tensor<T> slice_grad(const Tensor<T>& g, const Shape& shape, int axis, int64_t start, int64_t end) {
    Tensor<T> dx(shape);
    dx.slice(axis, start, end).copy_(g);
    return dx;
  }
  template <class T>
  static Tensor<T> concat(const std::vector<Tensor<T>>& xs, int axis, const Shape& out_shape) {
    Tensor<T> y(out_shape);
    int64_t off = 0;
    for (const auto& x : xs) {
      y.slice(axis, off, off + x.shape()[axis]).copy_(x);
      off += x.shape()[axis];
    }
    return y;
  }
};

}  // namespace sinklab::autograd
