#pragma once
// The CPU's whole-block paths for feature maps that declare `cpu_rows` (phi.hpp): n rows of length D at once,
// through Eigen, instead of φ's per-row functions. Same math as Phi::forward/backward, in other summation orders.
// PhiRows<Phi> is the per-row loop; a φ with a faster block path specialises it here and sets `cpu_rows = true`;
// phi_rows_cpu checks the two agree at compile time, so a fast path cannot be dropped or added silently.
#include <Eigen/Core>
#include <algorithm>

#include "sinklab/attention/phi.hpp"

namespace sinklab::attention::kernel {

template <class Phi>
struct PhiRows {
  static constexpr bool specialised = false;
  template <class T>
  static void forward(const T* x, T* y, long n, int D, const PhiParams<T>& p, T* /*hidden*/) {
    for (long r = 0; r < n; ++r) Phi::forward(x + r * D, y + r * D, D, p);
  }
  template <class T>
  static void backward(const T* x, const T* dy, T* dx, long n, int D, const PhiParams<T>& p, T* dw1, T* dw2,
                       const T* /*hidden*/) {
    for (long r = 0; r < n; ++r) Phi::backward(x + r * D, dy + r * D, dx + r * D, D, p, dw1, dw2);
  }
};

// Note [address-independent SIMD]: Eigen's vectorised exp differs from std::exp in the last bit, and on a Map of
// unknown alignment Eigen sends the unaligned head of the array through the scalar one. Which elements got which
// would then follow the heap's addresses, so a run's bits could change with, say, the length of its output path.
// Every element goes through the packet path instead, in aligned fixed-size blocks (the last one zero-padded).
template <class T, class F>
void simd_blocks(long n, F&& block) {
  constexpr long kBlock = 256;
  for (long o = 0; o < n; o += kBlock) block(o, std::min(kBlock, n - o));
}

// elu(x) + 1 = max(x, 0) + e^{min(x, 0)}: one SIMD exp over the block.
template <>
struct PhiRows<phi::EluPlus1> {
  static constexpr bool specialised = true;
  template <class T>
  using Block = Eigen::Array<T, 256, 1>;  // fixed size: aligned, whole packets
  template <class T>
  static void forward(const T* x, T* y, long n, int D, const PhiParams<T>&, T*) {
    Block<T> X, Y;
    simd_blocks<T>(n * D, [&](long o, long m) {
      X.head(m) = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>(x + o, m);
      X.tail(X.size() - m).setZero();
      Y = X.max(T(0)) + X.min(T(0)).exp();
      Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>(y + o, m) = Y.head(m);
    });
  }
  template <class T>
  static void backward(const T* x, const T* dy, T* dx, long n, int D, const PhiParams<T>&, T*, T*, const T*) {
    Block<T> X, dY, dX;
    simd_blocks<T>(n * D, [&](long o, long m) {
      X.head(m) = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>(x + o, m);
      dY.head(m) = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>(dy + o, m);
      X.tail(X.size() - m).setZero();
      dY.tail(dY.size() - m).setZero();
      dX = dY * X.min(T(0)).exp();
      Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>(dx + o, m) = dX.head(m);
    });
  }
};

// W2·relu(W1·x) as two GEMMs over the block (the per-row function is O(D²) scalar work). With `hidden` the forward
// leaves relu(W1·x) there and the backward reads it instead of recomputing (relu(h) > 0 exactly where h > 0, so it is
// also the mask); the backward accumulates dW1, dW2.
template <>
struct PhiRows<phi::SharedMLP> {
  static constexpr bool specialised = true;
  template <class T>
  using M = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  template <class T>
  static void forward(const T* x, T* y, long n, int D, const PhiParams<T>& p, T* hidden) {
    Eigen::Map<const M<T>> X(x, n, D), W1(p.w1, D, D), W2(p.w2, D, D);
    M<T> own;  // relu(W1·x) when the caller keeps none
    if (!hidden) own.resize(n, D);
    Eigen::Map<M<T>> R(hidden ? hidden : own.data(), n, D);
    R.noalias() = X * W1.transpose();
    R = R.cwiseMax(T(0));
    Eigen::Map<M<T>>(y, n, D).noalias() = R * W2.transpose();
  }
  template <class T>
  static void backward(const T* x, const T* dy, T* dx, long n, int D, const PhiParams<T>& p, T* dw1, T* dw2,
                       const T* hidden) {
    Eigen::Map<const M<T>> X(x, n, D), dY(dy, n, D), W1(p.w1, D, D), W2(p.w2, D, D);
    M<T> R;
    if (!hidden) R = (X * W1.transpose()).cwiseMax(T(0));
    const Eigen::Map<const M<T>> Rm(hidden ? hidden : R.data(), n, D);
    Eigen::Map<M<T>>(dw2, D, D).noalias() += dY.transpose() * Rm;
    const M<T> dH = ((dY * W2).array() * (Rm.array() > T(0)).template cast<T>()).matrix();
    Eigen::Map<M<T>>(dw1, D, D).noalias() += dH.transpose() * X;
    Eigen::Map<M<T>>(dx, n, D).noalias() = dH * W1;
  }
};

// True, or a compile error where Phi's `cpu_rows` and PhiRows<Phi> disagree.
template <class Phi>
consteval bool phi_rows_declared() {
  static_assert(Phi::cpu_rows == PhiRows<Phi>::specialised,
                "a feature map's `cpu_rows` must match PhiRows: set cpu_rows = true exactly when PhiRows<φ> is "
                "specialised in phi_rows_cpu.hpp");
  return true;
}

}  // namespace sinklab::attention::kernel
