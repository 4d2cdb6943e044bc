#pragma once
// TensorOps<Cuda>: the autograd ops' tensor arithmetic on the CUDA backend (autograd/tensor_ops.hpp), so that
// Var<float, Cuda> runs every op of autograd/ops/ on the GPU, or on the emulator (src/cuda/emu/) in CI.
// Compile with nvcc (link sinklab::cuda) or as an emulated target (link sinklab::cuda_emulated).
//
// Everything is queued on the default stream. fp32 only so far: the pointwise ops take the kernels' fp32 functors
// (backend/functors/), and the losses and reductions come back as fp32 scalars.
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include "sinklab/autograd/tensor_ops.hpp"
#include "sinklab/backend/cpu/cross_entropy.hpp"
#include "sinklab/backend/cuda/gemm.cuh"
#include "sinklab/backend/cuda/ops.cuh"

namespace sinklab::autograd {

template <>
struct TensorOps<Cuda> {
  template <class T>
  using DT = Tensor<T, Cuda>;
  template <class T>
  static constexpr bool kSupported = std::is_same_v<T, float>;

  // --- the tape's needs, and host transfers ---------------------------------------------------------------------
  template <class T>
  static DT<T> full(Shape s, T v) {
    return DT<T>::full(std::move(s), v);
  }
  template <class T>
  static DT<T> zeros(Shape s) {
    return DT<T>::zeros(std::move(s));
  }
  template <class T>
  static DT<T> from_host(const Tensor<T>& h) {
    return to_device(h);
  }
  template <class T>
  static Tensor<T> to_host(const DT<T>& t) {
    return t.to_host();
  }
  template <class T>
  static void copy_from_host(DT<T>& dst, const Tensor<T>& h) {
    dst.copy_from_host(h);
  }
  template <class T>
  static T item(const DT<T>& t) {
    return t.to_host().item();
  }
  template <class T>
  static bool sole_owner(const DT<T>&) {
    return false;  // the first gradient is copied; adopting it is a CPU saving so far
  }
  template <class T>
  static void add_into(DT<T>& dst, const DT<T>& g) {
    dst = dst.defined() ? backend::cuda::binary(backend::cuda::BinaryOp::Add, dst, g) : g.clone();
  }
  template <class T>
  static DT<T> sum_to(const DT<T>& g, const Shape& shape) {
    return backend::cuda::sum_to(g, shape);
  }
  template <class T>
  static bool all_finite(const DT<T>& t) {
    const auto h = t.to_host();
    for (int64_t k = 0; k < h.numel(); ++k)
      if (!std::isfinite(static_cast<double>(h.data()[k]))) return false;
    return true;
  }

  // --- arithmetic ---------------------------------------------------------------------------------------------
  template <class T>
  static DT<T> binary(Arith op, const DT<T>& a, const DT<T>& b) {
    using backend::cuda::BinaryOp;
    const BinaryOp k = op == Arith::Add   ? BinaryOp::Add
                       : op == Arith::Sub ? BinaryOp::Sub
                       : op == Arith::Mul ? BinaryOp::Mul
                                          : BinaryOp::Div;
    return backend::cuda::binary(k, a, b);
  }
  template <class T>
  static DT<T> neg(const DT<T>& x) {
    return backend::cuda::unary(backend::cuda::UnaryOp::Neg, x);
  }
  template <class T>
  static DT<T> add_scalar(const DT<T>& x, T c) {
    return backend::cuda::unary_scalar(backend::cuda::ScalarOp::AddScalar, x, float(c));
  }
  template <class T>
  static DT<T> mul_scalar(const DT<T>& x, T c) {
    return backend::cuda::unary_scalar(backend::cuda::ScalarOp::MulScalar, x, float(c));
  }
  template <class T>
  static DT<T> pow(const DT<T>& x, T p) {
    return backend::cuda::unary_scalar(backend::cuda::ScalarOp::Pow, x, float(p));
  }
  template <class T>
  static DT<T> pow_grad(const DT<T>& g, const DT<T>& x, T p) {
    return backend::cuda::unary_scalar_backward(backend::cuda::ScalarOp::Pow, x, g, float(p));
  }

  template <class T, class F>
  static DT<T> pointwise(const DT<T>& x, PointwiseSpec s, F) {
    if (s.kind == PointwiseKind::Elu || s.kind == PointwiseKind::Clamp)
      return backend::cuda::unary_scalar(scalar_op(s.kind), x, s.a, s.b);
    return backend::cuda::unary(unary_op(s.kind), x);
  }
  template <class T, class DF>
  static DT<T> pointwise_grad(const DT<T>& x, const DT<T>& y, const DT<T>& g, PointwiseSpec s, DF) {
    if (s.kind == PointwiseKind::Elu || s.kind == PointwiseKind::Clamp)
      return backend::cuda::unary_scalar_backward(scalar_op(s.kind), x, g, s.a, s.b);
    return backend::cuda::unary_backward(unary_op(s.kind), x.contiguous(), y, g.contiguous());
  }
  template <class T>
  static DT<T> masked_fill(const DT<T>& x, const DT<T>& mask, T value) {
    return backend::cuda::masked_fill(x, mask, float(value));
  }
  template <class T>
  static DT<T> masked_fill_grad(const DT<T>& g, const DT<T>& mask) {
    return backend::cuda::masked_fill_backward(g, mask);
  }

  // --- products -----------------------------------------------------------------------------------------------
  template <class T>
  static DT<T> matmul(const DT<T>& a, const DT<T>& b, bool ta, bool tb) {
    return backend::cuda::matmul<T>(a, b, ta, tb);
  }
  template <class T>
  static DT<T> linear(const DT<T>& x2, const DT<T>& w, const DT<T>* bias) {
    DT<T> y = backend::cuda::matmul<T>(x2, w, false, true);
    return bias ? backend::cuda::binary(backend::cuda::BinaryOp::Add, y, *bias) : y;
  }
  template <class T>
  struct LinearGrads {
    DT<T> dx, dw, db;
  };
  template <class T>
  static LinearGrads<T> linear_grads(const DT<T>& g2, const DT<T>& x2, const DT<T>& w, bool want_x, bool want_w,
                                     bool want_b) {
    LinearGrads<T> r;
    if (want_x) r.dx = backend::cuda::matmul<T>(g2, w, false, false);
    if (want_w) r.dw = backend::cuda::matmul<T>(g2, x2, true, false);
    if (want_b) r.db = backend::cuda::reduce(backend::cuda::ReduceOp::Sum, g2, 0, false);
    return r;
  }

  // --- reductions ---------------------------------------------------------------------------------------------
  template <class T>
  static DT<T> reduce_all(const DT<T>& x, bool mean) {
    static_assert(kSupported<T>, "Var<T, Cuda>: fp32 only so far");
    return mean ? backend::cuda::mean_all(x) : backend::cuda::sum_all(x);
  }
  template <class T>
  static DT<T> reduce_all_grad(const DT<T>& g, const Shape& shape, bool mean) {
    return backend::cuda::sum_all_backward<T>(g, shape, mean);
  }
  template <class T>
  static DT<T> reduce_axis(const DT<T>& x, int axis, bool keepdim, bool mean) {
    return backend::cuda::reduce(mean ? backend::cuda::ReduceOp::Mean : backend::cuda::ReduceOp::Sum, x, axis, keepdim);
  }
  template <class T>
  static DT<T> reduce_axis_grad(const DT<T>& g, const Shape& shape, int axis, bool keepdim, bool mean) {
    return backend::cuda::reduce_backward(mean ? backend::cuda::ReduceOp::Mean : backend::cuda::ReduceOp::Sum, g,
                                          shape, axis, keepdim);
  }
  template <class T>
  struct MaxResult {
    DT<T> values;
    Tensor<int64_t, Cuda> at;
  };
  template <class T>
  static MaxResult<T> max_axis(const DT<T>& x, int axis, bool keepdim) {
    auto r = backend::cuda::max_with_index(x, axis, keepdim);
    return {std::move(r.values), std::move(r.indices)};
  }
  template <class T>
  static DT<T> max_axis_grad(const DT<T>& g, const MaxResult<T>& m, const Shape& shape, int axis, bool keepdim) {
    return backend::cuda::max_backward(g, m.at, shape, axis, keepdim);
  }

  // --- softmax: rows of the last axis ---------------------------------------------------------------------------
  template <class T>
  static DT<T> softmax(const DT<T>& x, int axis, bool log) {
    check_last_axis(log ? "log_softmax" : "softmax", x.shape(), axis);
    return log ? backend::cuda::log_softmax(x) : backend::cuda::softmax(x);
  }
  template <class T>
  static DT<T> softmax_grad(const DT<T>& y, const DT<T>& g, int, bool log) {
    return log ? backend::cuda::log_softmax_backward(y, g) : backend::cuda::softmax_backward(y, g);
  }

  // --- cross-entropy: the kernels ignore every negative target, so ignore_index must be negative --------------------
  template <class T>
  struct CrossEntropy {
    DT<T> loss;  // scalar
    DT<T> logits;
    Tensor<int32_t, Cuda> targets;
    backend::cuda::CrossEntropyOut fwd;
  };
  template <class T>
  static CrossEntropy<T> cross_entropy(const DT<T>& logits, const Tensor<int32_t>& targets, int32_t ignore_index) {
    static_assert(kSupported<T>, "Var<T, Cuda>: fp32 only so far");
    SINKLAB_CHECK(ignore_index < 0, "cross_entropy (cuda): ignore_index must be negative, got ", ignore_index);
    backend::cpu::check_cross_entropy_args(logits.shape(), targets, ignore_index);  // targets in [0, V) or ignored
    CrossEntropy<T> ce;
    ce.logits = logits.contiguous();
    ce.targets = to_device(targets.contiguous());
    ce.fwd = backend::cuda::cross_entropy(ce.logits, ce.targets);
    ce.loss = ce.fwd.loss;
    return ce;
  }
  template <class T>
  static DT<T> cross_entropy_grad(const CrossEntropy<T>& ce, const DT<T>& g) {
    return backend::cuda::cross_entropy_backward(ce.logits, ce.targets, ce.fwd, g);
  }

  // --- embedding (ids checked on the host by the caller) --------------------------------------------------------
  static Tensor<int32_t, Cuda> ids(const Tensor<int32_t>& host) {
    return to_device(host.contiguous().reshape({host.numel()}));
  }
  template <class T>
  static DT<T> embedding(const DT<T>& w, const Tensor<int32_t, Cuda>& ids, Shape out_shape) {
    return backend::cuda::embedding(w, ids).reshape(std::move(out_shape));
  }
  template <class T>
  static DT<T> embedding_grad(const DT<T>& g, const Tensor<int32_t, Cuda>& ids, int64_t vocab, int64_t d) {
    return backend::cuda::embedding_backward(g.contiguous().reshape({ids.numel(), d}), ids, vocab);
  }

  // --- norms: an absent weight is ones, an absent bias zeros ------------------------------------------------------
  template <class T>
  struct Norm {
    DT<T> y, xc, wc;
    Tensor<float, Cuda> mean, rstd;
  };
  template <class T>
  struct NormGrads {
    DT<T> dx, dw, db;
  };
  template <class T>
  static Norm<T> rms_norm(const DT<T>& x, const DT<T>& w, T eps) {
    Norm<T> n;
    n.xc = x.contiguous();
    n.wc = w.defined() ? w.contiguous() : DT<T>::full({x.shape().back()}, T(1));
    auto o = backend::cuda::rms_norm(n.xc, n.wc, float(eps));
    n.y = std::move(o.y);
    n.rstd = std::move(o.rstd);
    return n;
  }
  template <class T>
  static NormGrads<T> rms_norm_grad(const Norm<T>& n, const DT<T>& g, bool) {
    NormGrads<T> r;
    backend::cuda::rms_norm_backward(n.xc, n.wc, n.rstd, g.contiguous(), r.dx, r.dw);
    return r;
  }
  template <class T>
  static Norm<T> layer_norm(const DT<T>& x, const DT<T>& w, const DT<T>& bias, T eps) {
    Norm<T> n;
    n.xc = x.contiguous();
    n.wc = w.defined() ? w.contiguous() : DT<T>::full({x.shape().back()}, T(1));
    const DT<T> bc = bias.defined() ? bias.contiguous() : DT<T>::zeros({x.shape().back()});
    auto o = backend::cuda::layer_norm(n.xc, n.wc, bc, float(eps));
    n.y = std::move(o.y);
    n.mean = std::move(o.mean);
    n.rstd = std::move(o.rstd);
    return n;
  }
  template <class T>
  static NormGrads<T> layer_norm_grad(const Norm<T>& n, const DT<T>& g, bool, bool) {
    NormGrads<T> r;
    backend::cuda::layer_norm_backward(n.xc, n.wc, n.mean, n.rstd, g.contiguous(), r.dx, r.dw, r.db);
    return r;
  }

  // --- RoPE: angles computed in the kernel -------------------------------------------------------------------------
  template <class T>
  struct Rope {
    float base;
    backend::functors::RopeLayout layout;
    int64_t offset;
  };
  template <class T>
  static Rope<T> rope_plan(const Shape&, double base, backend::functors::RopeLayout layout, int64_t offset) {
    return {float(base), layout, offset};
  }
  template <class T>
  static DT<T> rope(const DT<T>& x, const Rope<T>& r, bool inverse) {
    return backend::cuda::rope(x, r.layout, r.base, r.offset, inverse);
  }

  // --- shapes -------------------------------------------------------------------------------------------------
  template <class T>
  static DT<T> slice_grad(const DT<T>& g, const Shape& shape, int axis, int64_t start, int64_t) {
    return backend::cuda::slice_backward(g, shape, axis, start);
  }
  template <class T>
  static DT<T> concat(const std::vector<DT<T>>& xs, int axis, const Shape&) {
    return backend::cuda::concat(xs, axis);
  }

  // --- what the optimiser and clipping need ------------------------------------------------------------------
  // Σ x², summed on the device in fp32, returned to the host. When that overflows (every |x| may still be finite,
  // as the CPU's double sum shows), it is m²·Σ(x/m)² with m = max |x|, whose sum cannot overflow; a NaN or Inf
  // entry gives NaN or Inf, as on the CPU.
  template <class T>
  static double sum_squares(const DT<T>& x) {
    namespace cu = backend::cuda;
    const double direct = double(item(cu::sum_all(cu::binary(cu::BinaryOp::Mul, x, x))));
    if (std::isfinite(direct) || x.numel() == 0) return direct;
    const DT<T> flat = x.contiguous().reshape({x.numel()});
    const double m = double(item(cu::reduce(cu::ReduceOp::Max, cu::unary(cu::UnaryOp::Abs, flat), 0)));
    if (!std::isfinite(m)) return m * m;
    const DT<T> scaled = cu::binary(cu::BinaryOp::Div, flat, DT<T>::full({1}, T(m)));
    return m * m * double(item(cu::sum_all(cu::binary(cu::BinaryOp::Mul, scaled, scaled))));
  }
  // Every parameter's AdamW step in one launch (backend::cuda::adamw_multi_tensor, functors::AdamWStep).
  static void adamw(const std::vector<AdamWSlot>& slots, const AdamWHyperparams& h) {
    std::vector<backend::cuda::AdamWParam<float>> ps;
    for (const auto& s : slots) ps.push_back({s.w, s.m, s.v, s.g, nullptr, s.n, s.weight_decay});
    if (!ps.empty()) backend::cuda::adamw_multi_tensor(ps, backend::cuda::AdamWHyper{h.lr, h.beta1, h.beta2, h.eps, h.step});
  }

 private:
  static void check_last_axis(const char* op, const Shape& s, int axis) {
    SINKLAB_CHECK(axis == static_cast<int>(s.size()) - 1, op, " (cuda): rows of the last axis only; got axis ", axis,
                  " of shape ", to_string(s), " (permute it last first)");
  }
  static backend::cuda::UnaryOp unary_op(PointwiseKind k) {
    using backend::cuda::UnaryOp;
    switch (k) {
      case PointwiseKind::Exp: return UnaryOp::Exp;
      case PointwiseKind::Log: return UnaryOp::Log;
      case PointwiseKind::Sqrt: return UnaryOp::Sqrt;
      case PointwiseKind::Abs: return UnaryOp::Abs;
      case PointwiseKind::Tanh: return UnaryOp::Tanh;
      case PointwiseKind::Sigmoid: return UnaryOp::Sigmoid;
      case PointwiseKind::Silu: return UnaryOp::Silu;
      case PointwiseKind::Gelu: return UnaryOp::Gelu;
      case PointwiseKind::Relu: return UnaryOp::Relu;
      default: break;
    }
    SINKLAB_FAIL("pointwise (cuda): not a unary kernel kind");
  }
  static backend::cuda::ScalarOp scalar_op(PointwiseKind k) {
    return k == PointwiseKind::Elu ? backend::cuda::ScalarOp::Elu : backend::cuda::ScalarOp::Clamp;
  }
};

}  // namespace sinklab::autograd
