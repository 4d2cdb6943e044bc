#pragma once
// AdamW (Loshchilov & Hutter 2019): Adam moments with decoupled weight decay θ ← θ − lr·λ·θ applied before the
// Adam step, as torch.optim.AdamW does. State (m, v, step) serialises to tensors for exact resume.
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

#include "sinklab/backend/functors/adamw.hpp"
#include "sinklab/core/parallel.hpp"
#include "sinklab/nn/module.hpp"

namespace sinklab::optim {

struct AdamWConfig {
  double beta1 = 0.9, beta2 = 0.95, eps = 1e-8, weight_decay = 0.1;
  bool decay_matrices_only = false;  // false: decay every parameter (the sink paper's setting)
};

// The decay λ that applies to parameter `p`: optim.decay = matrices leaves vectors (norms, biases) undecayed.
template <class T, class D>
double weight_decay_of(const AdamWConfig& cfg, const nn::NamedParam<T, D>& p) {
  return cfg.weight_decay > 0 && (!cfg.decay_matrices_only || p.is_matrix) ? cfg.weight_decay : 0.0;
}

// Update `step` (1-based) of n elements: w, m, v in place from the gradient g. Elementwise, so any slice of a
// parameter may be updated on its own (dist/sharded_adamw.hpp does) with the same bits as the whole, provided the
// slice starts at a multiple of kAdamWChunk elements of the parameter (the chunks, and so Eigen's vector/scalar
// split and the pointers' alignment, are then the same).
inline constexpr int64_t kAdamWChunk = int64_t(1) << 14;

template <class T>
void adamw_update(const AdamWConfig& cfg, int64_t step, double lr, double wd, T* w, T* m, T* v, const T* g, int64_t n) {
  const double bc1 = 1.0 - std::pow(cfg.beta1, double(step)), bc2 = 1.0 - std::pow(cfg.beta2, double(step));
  if constexpr (std::is_same_v<T, float>) {
    // The CUDA kernel's formula (backend/functors/adamw.hpp: fp32, the same operations in the same order) as Eigen
    // array expressions, because the plain loop does not vectorise (sqrtf may set errno). Each element is computed
    // on its own, so the thread count does not matter.
    const backend::functors::AdamWStep f{float(lr), float(cfg.beta1), float(cfg.beta2),
                                         float(cfg.eps), float(bc1), float(bc2)};
    const float decay = 1.0f - f.lr * float(wd);
    const int64_t chunks = (n + kAdamWChunk - 1) / kAdamWChunk;
#pragma omp parallel for schedule(static) if (n > kParallelGrain)
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t k0 = c * kAdamWChunk, len = std::min(kAdamWChunk, n - k0);
      using A = Eigen::Array<float, Eigen::Dynamic, 1>;
      Eigen::Map<A> W(w + k0, len), M(m + k0, len), Vv(v + k0, len);
      const Eigen::Map<const A> G(g + k0, len);
      M = f.beta1 * M + (1.0f - f.beta1) * G;
      Vv = f.beta2 * Vv + (1.0f - f.beta2) * G * G;
      W = W * decay - f.lr * (M / f.bc1) / ((Vv / f.bc2).sqrt() + f.eps);
    }
  } else {
    const double b1 = cfg.beta1, b2 = cfg.beta2, eps = cfg.eps;
#pragma omp parallel for if (n > kParallelGrain)
    for (int64_t k = 0; k < n; ++k) {
      const double gk = g[k];
      const double mk = b1 * m[k] + (1 - b1) * gk;
      const double vk = b2 * v[k] + (1 - b2) * gk * gk;
      m[k] = static_cast<T>(mk);
      v[k] = static_cast<T>(vk);
      const double denom = std::sqrt(vk / bc2) + eps;
      w[k] = static_cast<T>(double(w[k]) * (1.0 - lr * wd) - lr * (mk / bc1) / denom);
    }
  }
}

// On a GPU (D = Cuda) the moments live on the device and every parameter is updated in one launch of the same
// functor (functors::AdamWStep); the CPU's update is unchanged.
template <class T, class D = Cpu>
class AdamW {
 public:
  AdamW(nn::ParamList<T, D> params, AdamWConfig cfg) : params_(std::move(params)), cfg_(cfg) {
    for (auto& p : params_) {
      m_.push_back(autograd::TensorOps<D>::template zeros<T>(p.var.shape()));
      v_.push_back(autograd::TensorOps<D>::template zeros<T>(p.var.shape()));
    }
  }

  void step(double lr) {
    ++step_;
    if constexpr (std::is_same_v<D, Cpu>) {
      for (std::size_t i = 0; i < params_.size(); ++i) {
        auto& p = params_[i];
        if (!p.var.has_grad() || !p.var.requires_grad()) continue;
        const Tensor<T> gc = p.var.grad().contiguous();
        adamw_update(cfg_, step_, lr, weight_decay_of(cfg_, p), p.var.mutable_value().data(), m_[i].data(),
                     v_[i].data(), gc.data(), p.var.numel());
      }
    } else {
      static_assert(std::is_same_v<T, float>, "AdamW on a device: fp32 parameters");
      std::vector<Tensor<T, D>> grads;  // contiguous gradients, alive until the launch
      std::vector<autograd::AdamWSlot> slots;
      for (std::size_t i = 0; i < params_.size(); ++i) {
        auto& p = params_[i];
        if (!p.var.has_grad() || !p.var.requires_grad()) continue;
        grads.push_back(p.var.grad().contiguous());
        slots.push_back({p.var.mutable_value().data(), m_[i].data(), v_[i].data(), grads.back().data(), p.var.numel(),
                         float(weight_decay_of(cfg_, p))});
      }
      autograd::TensorOps<D>::adamw(slots, {float(lr), float(cfg_.beta1), float(cfg_.beta2), float(cfg_.eps), step_});
    }
  }

 public:
  int64_t step_count() const { return step_; }
  void set_step_count(int64_t s) { step_ = s; }
  const nn::ParamList<T, D>& params() const { return params_; }
  std::vector<Tensor<T, D>>& exp_avg() { return m_; }
  std::vector<Tensor<T, D>>& exp_avg_sq() { return v_; }
  const AdamWConfig& config() const { return cfg_; }

 private:
  nn::ParamList<T, D> params_;
  AdamWConfig cfg_;
  std::vector<Tensor<T, D>> m_, v_;
  int64_t step_ = 0;
};

}  // namespace sinklab::optim
