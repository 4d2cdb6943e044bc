#pragma once
// Feature maps φ of the feature kernels Feature<φ> (kernel.hpp): κ(q, k) = φ(q)·φ(k), the linear-attention family.
// Each φ is one struct of __host__ __device__ row functions, shared by the CPU and CUDA backends.
//   forward(x, y, D, p): y = φ(x) for one row of length D;
//   backward(x, dy, dx, D, p, dW1, dW2): dx = (∂φ/∂x)ᵀ dy and, for learnable maps, accumulates the weight gradients.
//   cpu_rows: the CPU maps whole blocks of rows at once through PhiRows<φ> (phi_rows_cpu.hpp) instead of calling
//   forward/backward per row; a φ that says so must have that specialisation, and one that has it must say so.
#include "sinklab/attention/math.hpp"
#include "sinklab/attention/param_spec.hpp"
#include "sinklab/core/config.hpp"

namespace sinklab::attention::param {
// The shared MLP feature map's weights, torch Linear layout (out, in).
inline constexpr ParamSpec mlp_w1{"mlp_w1", "feature_map.fc1.weight", Extent::dim_dim, Source::weight, Init::linear, true};
inline constexpr ParamSpec mlp_w2{"mlp_w2", "feature_map.fc2.weight", Extent::dim_dim, Source::weight, Init::linear, true};
}  // namespace sinklab::attention::param

namespace sinklab::attention::kernel {

template <class T>
struct PhiParams {
  const T* w1 = nullptr;  // (D, D) SharedMLP first layer, torch Linear layout (out, in)
  const T* w2 = nullptr;  // (D, D) SharedMLP second layer
};

namespace phi {

inline constexpr int max_head_dim = 256;

// φ(x) = x (sink paper "kernel_linear").
struct Identity {
  static constexpr const char* name = "identity";
  static constexpr bool learnable = false;
  static constexpr bool cpu_rows = false;
  template <class T>
  SINKLAB_HOST_DEVICE static void forward(const T* x, T* y, int D, const PhiParams<T>&) {
    for (int d = 0; d < D; ++d) y[d] = x[d];
  }
  template <class T>
  SINKLAB_HOST_DEVICE static void backward(const T*, const T* dy, T* dx, int D, const PhiParams<T>&, T*, T*) {
    for (int d = 0; d < D; ++d) dx[d] = dy[d];
  }
};

// φ(x) = elu(x) + 1 (Katharopoulos et al. 2020, eq. 7).
struct EluPlus1 {
  static constexpr const char* name = "elu+1";
  static constexpr bool learnable = false;
  static constexpr bool cpu_rows = true;
  template <class T>
  SINKLAB_HOST_DEVICE static void forward(const T* x, T* y, int D, const PhiParams<T>&) {
    for (int d = 0; d < D; ++d) y[d] = x[d] > T(0) ? x[d] + T(1) : detail::exp_(x[d]);
  }
  template <class T>
  SINKLAB_HOST_DEVICE static void backward(const T* x, const T* dy, T* dx, int D, const PhiParams<T>&, T*, T*) {
    for (int d = 0; d < D; ++d) dx[d] = x[d] > T(0) ? dy[d] : dy[d] * detail::exp_(x[d]);
  }
};

// φ(x) = relu(x) (RNN perspective "linear_relu").
struct Relu {
  static constexpr const char* name = "relu";
  static constexpr bool learnable = false;
  static constexpr bool cpu_rows = false;
  template <class T>
  SINKLAB_HOST_DEVICE static void forward(const T* x, T* y, int D, const PhiParams<T>&) {
    for (int d = 0; d < D; ++d) y[d] = x[d] > T(0) ? x[d] : T(0);
  }
  template <class T>
  SINKLAB_HOST_DEVICE static void backward(const T* x, const T* dy, T* dx, int D, const PhiParams<T>&, T*, T*) {
    for (int d = 0; d < D; ++d) dx[d] = x[d] > T(0) ? dy[d] : T(0);
  }
};

// φ(x) = x / max(‖x‖₂, 1e-12) per head (torch.nn.functional.normalize; RNN perspective "linear_cosine").
struct L2Normalize {
  static constexpr const char* name = "l2normalize";
  static constexpr bool learnable = false;
  static constexpr bool cpu_rows = false;
  static constexpr double eps = 1e-12;
  template <class T>
  SINKLAB_HOST_DEVICE static T norm(const T* x, int D) {
    T ss = T(0);
    for (int d = 0; d < D; ++d) ss += x[d] * x[d];
    return detail::sqrt_(ss);
  }
  template <class T>
  SINKLAB_HOST_DEVICE static void forward(const T* x, T* y, int D, const PhiParams<T>&) {
    const T r = T(1) / detail::max_(norm(x, D), T(eps));
    for (int d = 0; d < D; ++d) y[d] = x[d] * r;
  }
  template <class T>
  SINKLAB_HOST_DEVICE static void backward(const T* x, const T* dy, T* dx, int D, const PhiParams<T>&, T*, T*) {
    const T n = norm(x, D);
    if (n > T(eps)) {  // d(x/‖x‖) = (dy − y (y·dy)) / ‖x‖
      T ydy = T(0);
      for (int d = 0; d < D; ++d) ydy += x[d] * dy[d];
      ydy /= n;
      for (int d = 0; d < D; ++d) dx[d] = (dy[d] - x[d] / n * ydy) / n;
    } else {
      for (int d = 0; d < D; ++d) dx[d] = dy[d] / T(eps);
    }
  }
};

// φ(x) = W2·relu(W1·x), d→d→d, no bias, shared by all heads (sink paper §6, "kernel_mlp").
struct SharedMLP {
  static constexpr const char* name = "mlp";
  static constexpr bool learnable = true;
  static constexpr std::array params{param::mlp_w1, param::mlp_w2};
  static constexpr bool cpu_rows = true;
  template <class T>
  SINKLAB_HOST_DEVICE static void forward(const T* x, T* y, int D, const PhiParams<T>& p) {
    T h[max_head_dim];
    for (int o = 0; o < D; ++o) {
      T acc = T(0);
      for (int i = 0; i < D; ++i) acc += p.w1[o * D + i] * x[i];
      h[o] = acc > T(0) ? acc : T(0);
    }
    for (int o = 0; o < D; ++o) {
      T acc = T(0);
      for (int i = 0; i < D; ++i) acc += p.w2[o * D + i] * h[i];
      y[o] = acc;
    }
  }
  // dW1, dW2 (D, D) are accumulated into.
  template <class T>
  SINKLAB_HOST_DEVICE static void backward(const T* x, const T* dy, T* dx, int D, const PhiParams<T>& p, T* dw1,
                                           T* dw2) {
    T h[max_head_dim], dh[max_head_dim];
    for (int o = 0; o < D; ++o) {
      T acc = T(0);
      for (int i = 0; i < D; ++i) acc += p.w1[o * D + i] * x[i];
      h[o] = acc;
    }
    for (int i = 0; i < D; ++i) dh[i] = T(0);
    for (int o = 0; o < D; ++o) {
      for (int i = 0; i < D; ++i) {
        const T r = h[i] > T(0) ? h[i] : T(0);
        dw2[o * D + i] += dy[o] * r;
        dh[i] += p.w2[o * D + i] * dy[o];
      }
    }
    for (int i = 0; i < D; ++i) dh[i] = h[i] > T(0) ? dh[i] : T(0);
    for (int d = 0; d < D; ++d) dx[d] = T(0);
    for (int o = 0; o < D; ++o)
      for (int i = 0; i < D; ++i) {
        dw1[o * D + i] += dh[o] * x[i];
        dx[i] += p.w1[o * D + i] * dh[o];
      }
  }
};

}  // namespace phi

}  // namespace sinklab::attention::kernel
