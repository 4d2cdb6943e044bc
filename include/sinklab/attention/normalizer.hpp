#pragma once
// Normalizer axis (DESIGN §3) = row stage ∘ vector stage ∘ gradient mode.
//
// Note [shifted domain]. The fused loop accumulates a'_i = Σ_j κ(s_ij)e^{−m_i}·ṽ_j and ℓ'_i = Σ_j mass_ij·e^{−m_i}.
// A row stage turns (ℓ', n_i, m_i, sink b_h) into a divisor ρ_i and a log-scale σ_i such that the true row output is
//     u_i = e^{σ_i} · ũ_i,   ũ_i = a'_i / ρ_i.
// Shift-equivariant stages fold e^{−m} into ρ exactly (RowSum: ρ = ℓ' + eps·e^{−m}; sink: ρ = ℓ' + e^{b−m}) and
// have σ = 0. The others (DivCount, None) keep σ = m; that is only finite to represent when a scale-invariant vector
// stage follows, which absorbs e^{σ} into its epsilon: N(e^σ ỹ) = Ñ(ỹ) with eps·e^{−2σ} (L2: eps·e^{−σ}). When no
// shift is taken m = 0, so every formula below reduces to the absolute-scale one.
#include <concepts>

#include "sinklab/attention/kernel.hpp"

namespace sinklab::attention {
namespace param {
inline constexpr ParamSpec sink_logit{"sink", "sinks", Extent::head};  // b_h, RowSumPlusSink<learned>
inline constexpr ParamSpec norm_weight{"norm_weight", "attn_norm.weight", Extent::dim, Source::weight, Init::ones};
inline constexpr ParamSpec norm_bias{"norm_bias", "attn_norm.bias", Extent::dim};
}  // namespace param

// ---- row stages ---------------------------------------------------------------------------------------------
template <class R>
concept RowStage = requires(double l, int n, double m, double b) {
  { R::name } -> std::convertible_to<const char*>;
  { R::shift_equivariant } -> std::convertible_to<bool>;  // ρ can absorb e^{−m}: online max subtraction is exact
  { R::data_dependent } -> std::convertible_to<bool>;     // ρ depends on the scores (something to detach)
  { R::uses_sink_logit } -> std::convertible_to<bool>;
  { R::mass_abs_proxy } -> std::convertible_to<bool>;
  { R::rho(l, n, m, b) } -> std::same_as<double>;
  { R::drho_dl(l, n, m, b) } -> std::same_as<double>;
  { R::drho_db(l, n, m, b) } -> std::same_as<double>;
};

namespace row {

struct Base {
  static constexpr bool is_row_sum = false, is_plus_sink = false;
  static constexpr bool uses_sink_logit = false;
  static constexpr bool mass_abs_proxy = false;
  template <class T>
  SINKLAB_HOST_DEVICE static T drho_db(T, int, T, T) {
    return T(0);
  }
};

// ÷ (Σ_j w_ij + Eps) — softmax (Eps = 0), `linear_relu`/`*_norm` of the sink paper (1e-8),
// `softmax_detach_denom_gate` (1e-4).
template <double Eps = 0.0>
struct RowSum : Base {
  static constexpr const char* name = "RowSum";
  static constexpr double eps = Eps;
  static constexpr bool is_row_sum = true;
  static constexpr bool shift_equivariant = true, data_dependent = true;
  template <class T>
  SINKLAB_HOST_DEVICE static T rho(T l, int, T m, T) {
    if constexpr (Eps == 0.0)
      return l;
    else
      return l + T(Eps) * detail::exp_(-m);
  }
  template <class T>
  SINKLAB_HOST_DEVICE static T drho_dl(T, int, T, T) {
    return T(1);
  }
};

// ÷ max(Σ_j w_ij, 1) (RNN perspective `softmax_clamp_denom`). Needs absolute scale: max(·,1) is not
// shift-equivariant in the form the paper trains (DESIGN §3 rules), hence ClampedExp.
struct RowSumClampMin1 : Base {
  static constexpr const char* name = "RowSumClampMin1";
  static constexpr bool shift_equivariant = false, data_dependent = true;
  template <class T>
  SINKLAB_HOST_DEVICE static T rho(T l, int, T m, T) {
    return detail::max_(l, detail::exp_(-m));
  }
  template <class T>
  SINKLAB_HOST_DEVICE static T drho_dl(T l, int, T m, T) {
    return l > detail::exp_(-m) ? T(1) : T(0);
  }
};

// ÷ max(|Σ_j w_ij|, 1) (sink paper §6, `kernel_linear_norm`, `kernel_mlp_norm`: weights may be negative).
struct AbsRowSumClampMin1 : Base {
  static constexpr const char* name = "AbsRowSumClampMin1";
  static constexpr bool shift_equivariant = false, data_dependent = true, mass_abs_proxy = true;
  template <class T>
  SINKLAB_HOST_DEVICE static T rho(T l, int, T m, T) {
    return detail::max_(detail::abs_(l), detail::exp_(-m));
  }
  template <class T>
  SINKLAB_HOST_DEVICE static T drho_dl(T l, int, T m, T) {
    return detail::abs_(l) > detail::exp_(-m) ? (l > T(0) ? T(1) : T(-1)) : T(0);
  }
};

// ÷ n_i, the number of keys row i sees — "divide by S" of the RNN perspective (DESIGN §3: not the padded length).
struct DivCount : Base {
  static constexpr const char* name = "DivCount";
  static constexpr bool shift_equivariant = false, data_dependent = false;
  template <class T>
  SINKLAB_HOST_DEVICE static T rho(T, int n, T, T) {
    return T(n);
  }
  template <class T>
  SINKLAB_HOST_DEVICE static T drho_dl(T, int, T, T) {
    return T(0);
  }
};

// No denominator (RNN perspective `softmax_gate`, `*_nodivS`; sink paper unnormalised kernels).
struct None : Base {
  static constexpr const char* name = "None";
  static constexpr bool shift_equivariant = false, data_dependent = false;
  template <class T>
  SINKLAB_HOST_DEVICE static T rho(T, int, T, T) {
    return T(1);
  }
  template <class T>
  SINKLAB_HOST_DEVICE static T drho_dl(T, int, T, T) {
    return T(0);
  }
};

// ÷ (Σ_j e^{s_ij} + e^{b_h}): softmax₁ (Miller 2023, b = 0) or a learnable per-head sink logit (gpt-oss, 2025).
// With running max m the extra term is e^{b−m}.
enum class SinkLogit { unit, learned };
template <SinkLogit Kind>
struct RowSumPlusSink : Base {
  static constexpr const char* name = Kind == SinkLogit::unit ? "RowSumPlusOne" : "RowSumPlusSink";
  static constexpr bool shift_equivariant = true, data_dependent = true, is_plus_sink = true;
  static constexpr bool uses_sink_logit = Kind == SinkLogit::learned;
  static constexpr auto params = [] {
    if constexpr (Kind == SinkLogit::learned)
      return std::array{param::sink_logit};
    else
      return std::array<ParamSpec, 0>{};
  }();
  template <class T>
  SINKLAB_HOST_DEVICE static T rho(T l, int, T m, T b) {
    return l + detail::exp_(b - m);
  }
  template <class T>
  SINKLAB_HOST_DEVICE static T drho_dl(T, int, T, T) {
    return T(1);
  }
  template <class T>
  SINKLAB_HOST_DEVICE static T drho_db(T, int, T m, T b) {
    return detail::exp_(b - m);
  }
};

}  // namespace row

// ---- vector stages (over head_dim) ---------------------------------------------------------------------------
// forward(y, z, D, σ, w, b): z = N(e^σ·y). backward(y, dz, dy, D, σ, w, dw, db): dy = ∂/∂y of N(e^σ·y)ᵀ dz,
// accumulating into dw/db (the weights are shared across heads, so the caller reduces them).
template <class N>
concept VectorStage = requires {
  { N::name } -> std::convertible_to<const char*>;
  { N::scale_invariant } -> std::convertible_to<bool>;
  { N::has_weight } -> std::convertible_to<bool>;
  { N::has_bias } -> std::convertible_to<bool>;
};

namespace vec {

struct None {
  static constexpr const char* name = "None";
  static constexpr bool scale_invariant = false, has_weight = false, has_bias = false;
  template <class T>
  SINKLAB_HOST_DEVICE static void forward(const T* y, T* z, int D, T, const T*, const T*) {
    for (int d = 0; d < D; ++d) z[d] = y[d];
  }
  template <class T>
  SINKLAB_HOST_DEVICE static void backward(const T*, const T* dz, T* dy, int D, T, const T*, T*, T*) {
    for (int d = 0; d < D; ++d) dy[d] = dz[d];
  }
};

// y / max(‖y‖₂, 1e-12) (torch.nn.functional.normalize; RNN perspective `*_L2norm_*`, the paper's L2(exp(s)V)).
struct L2 {
  static constexpr const char* name = "L2";
  static constexpr double eps = 1e-12;
  static constexpr bool scale_invariant = true, has_weight = false, has_bias = false;
  template <class T>
  SINKLAB_HOST_DEVICE static T eff_eps(T sigma) {
    return detail::exp_(detail::log_(T(eps)) - sigma);
  }
  template <class T>
  SINKLAB_HOST_DEVICE static void forward(const T* y, T* z, int D, T sigma, const T*, const T*) {
    T ss = T(0);
    for (int d = 0; d < D; ++d) ss += y[d] * y[d];
    const T r = T(1) / detail::max_(detail::sqrt_(ss), eff_eps(sigma));
    for (int d = 0; d < D; ++d) z[d] = y[d] * r;
  }
  template <class T>
  SINKLAB_HOST_DEVICE static void backward(const T* y, const T* dz, T* dy, int D, T sigma, const T*, T*, T*) {
    T ss = T(0);
    for (int d = 0; d < D; ++d) ss += y[d] * y[d];
    const T n = detail::sqrt_(ss), e = eff_eps(sigma);
    if (n > e) {  // dy = (dz − z (z·dz)) / ‖y‖
      T zdz = T(0);
      for (int d = 0; d < D; ++d) zdz += y[d] * dz[d];
      zdz /= n;
      for (int d = 0; d < D; ++d) dy[d] = (dz[d] - y[d] / n * zdz) / n;
    } else {
      for (int d = 0; d < D; ++d) dy[d] = dz[d] / e;
    }
  }
};

// w ⊙ y / sqrt(mean(y²) + Eps), learnable w (D) shared across heads (torch.nn.RMSNorm(head_dim); its default eps
// for float32 inputs is the machine epsilon 2^-23).
template <double Eps = 1.1920928955078125e-07>
struct RMSNorm {
  static constexpr const char* name = "RMSNorm";
  static constexpr double eps = Eps;
  static constexpr bool scale_invariant = true, has_weight = true, has_bias = false;
  static constexpr std::array params{param::norm_weight};
  template <class T>
  SINKLAB_HOST_DEVICE static T rstd(const T* y, int D, T sigma) {
    T ss = T(0);
    for (int d = 0; d < D; ++d) ss += y[d] * y[d];
    return T(1) / detail::sqrt_(ss / T(D) + detail::exp_(detail::log_(T(Eps)) - T(2) * sigma));
  }
  template <class T>
  SINKLAB_HOST_DEVICE static void forward(const T* y, T* z, int D, T sigma, const T* w, const T*) {
    const T r = rstd(y, D, sigma);
    for (int d = 0; d < D; ++d) z[d] = w[d] * y[d] * r;
  }
  template <class T>
  SINKLAB_HOST_DEVICE static void backward(const T* y, const T* dz, T* dy, int D, T sigma, const T* w, T* dw, T*) {
    const T r = rstd(y, D, sigma);
    T dot = T(0);  // mean(dŷ ⊙ ŷ)
    for (int d = 0; d < D; ++d) {
      const T yh = y[d] * r;
      dw[d] += dz[d] * yh;
      dot += dz[d] * w[d] * yh;
    }
    dot /= T(D);
    for (int d = 0; d < D; ++d) dy[d] = r * (dz[d] * w[d] - y[d] * r * dot);
  }
};

// w ⊙ (y − mean) / sqrt(var + Eps) + b, learnable w, b (D) shared across heads (RNN perspective `gated_softmax`:
// nn.LayerNorm(head_dim), eps 1e-5).
template <double Eps = 1e-5>
struct LayerNorm {
  static constexpr const char* name = "LayerNorm";
  static constexpr double eps = Eps;
  static constexpr bool scale_invariant = true, has_weight = true, has_bias = true;
  static constexpr std::array params{param::norm_weight, param::norm_bias};
  template <class T>
  SINKLAB_HOST_DEVICE static void stats(const T* y, int D, T sigma, T& mean, T& r) {
    T s = T(0);
    for (int d = 0; d < D; ++d) s += y[d];
    mean = s / T(D);
    T v = T(0);
    for (int d = 0; d < D; ++d) v += (y[d] - mean) * (y[d] - mean);
    r = T(1) / detail::sqrt_(v / T(D) + detail::exp_(detail::log_(T(Eps)) - T(2) * sigma));
  }
  template <class T>
  SINKLAB_HOST_DEVICE static void forward(const T* y, T* z, int D, T sigma, const T* w, const T* b) {
    T mean, r;
    stats(y, D, sigma, mean, r);
    for (int d = 0; d < D; ++d) z[d] = w[d] * (y[d] - mean) * r + b[d];
  }
  template <class T>
  SINKLAB_HOST_DEVICE static void backward(const T* y, const T* dz, T* dy, int D, T sigma, const T* w, T* dw, T* db) {
    T mean, r;
    stats(y, D, sigma, mean, r);
    T mg = T(0), mgy = T(0);  // mean(dŷ), mean(dŷ ⊙ ŷ)
    for (int d = 0; d < D; ++d) {
      const T yh = (y[d] - mean) * r, g = dz[d] * w[d];
      dw[d] += dz[d] * yh;
      db[d] += dz[d];
      mg += g;
      mgy += g * yh;
    }
    mg /= T(D);
    mgy /= T(D);
    for (int d = 0; d < D; ++d) dy[d] = r * (dz[d] * w[d] - mg - (y[d] - mean) * r * mgy);
  }
};

}  // namespace vec

// ---- gradient mode ---------------------------------------------------------------------------------------------
namespace grad {
struct Normal {
  static constexpr const char* name = "Normal";
  static constexpr bool detached = false;
};
// The row denominator is a constant in backward (RNN perspective `softmax_detach_denom`: denom.detach()).
struct Detached {
  static constexpr const char* name = "Detached";
  static constexpr bool detached = true;
};
}  // namespace grad

template <RowStage Row, VectorStage Vec = vec::None, class Grad = grad::Normal>
struct Normalizer {
  using row_stage = Row;
  using vector_stage = Vec;
  using grad_mode = Grad;
  static constexpr bool detached_denominator = Grad::detached;
  static constexpr bool scale_invariant = Vec::scale_invariant;
  // the vector stage's weights, then the row stage's (the order SelfAttention has always created them in)
  static constexpr auto params = join_params<Vec, Row>();
};

}  // namespace sinklab::attention
