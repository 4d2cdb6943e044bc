#pragma once
// Kernel axis κ (DESIGN §3): turns a score s_ij = scale·q'_i·k'_j (+ bias) into an unnormalised weight.
//
// Every kernel is evaluated *shifted*: weight(s, m) = κ(s)·e^{−m}. The fused loop passes the running row max m only
// when `shift_equivariant` says that product is computable from (s, m) without forming κ(s) (Exp, Softpick); every
// other kernel is called with m = 0 and returns κ(s) itself. dweight/dmass are the derivatives of weight/mass in s
// with m held constant (the final output does not depend on m, so m carries no gradient).
//
// Feature kernels (Feature<φ>) first map q and k through φ; their score map is the identity (optionally clamped),
// so one loop serves both families: s = scale·φ(q)·φ(k), κ(s) = s.
#include <array>
#include <cmath>
#include <concepts>

#include "sinklab/attention/math.hpp"
#include "sinklab/attention/phi.hpp"
#include "sinklab/core/config.hpp"

namespace sinklab::attention {


// How the default score scale is chosen when AttentionParams::scale is 0.
enum class ScaleMode { inv_sqrt_d, unit };

// Which whole-row hooks a kernel offers the CPU's full tiles (fused_cpu.hpp checks the hooks against the declaration,
// both ways, so a misspelt or undeclared hook is a compile error, not a silent fall-back to the scalar loop):
//   scalar     none: weight/dweight (and mass/dmass) per score;
//   vectorised weight_vec(s, m), dweight_vec(s, m, p) on Eigen arrays, plus mass_vec, dmass_vec when separate_mass;
//   fused_row  vectorised, plus forward_row(s, m, p) -> row mass and backward_row(s, m, dp, dl, p, ds) doing the
//              row's work in fewer passes.
enum class TileHooks { scalar, vectorised, fused_row };

// A score kernel: the hooks the inner loop calls on every visible (i, j).
template <class K>
concept Kernel = requires(double s, double m, int n) {
  { K::name } -> std::convertible_to<const char*>;
  { K::is_feature } -> std::convertible_to<bool>;
  { K::shift_equivariant } -> std::convertible_to<bool>;    // κ(s)e^{−m} computable from (s, m): max shift is exact
  { K::overflows_unshifted } -> std::convertible_to<bool>;  // exponential growth: needs the max shift to be safe
  { K::separate_mass } -> std::convertible_to<bool>;        // row sum uses mass(s) instead of weight(s)
  { K::has_recurrent_form } -> std::convertible_to<bool>;   // κ(q,k) = φ(q)·φ(k): O(S·d²) chunked recurrence
  { K::scale_mode } -> std::convertible_to<ScaleMode>;
  { K::tile_hooks } -> std::convertible_to<TileHooks>;
  { K::weight(s, m) } -> std::same_as<double>;
  { K::dweight(s, m) } -> std::same_as<double>;
  { K::mass(s, m) } -> std::same_as<double>;
  { K::dmass(s, m) } -> std::same_as<double>;
  { K::row_offset(n, n, s) } -> std::same_as<double>;  // score offset of row i from (n_i, S), e.g. −log S
};

namespace kernel {

// Shared defaults: mass = weight, no score offset, 1/√d scale, score map (not a feature kernel).
// row_offset(n_i, seq_len, ·) is added to every score of row i: n_i the keys row i sees (a sink slot counted, as in
// DivCount), seq_len = S the keys of the sequence (a sink slot not counted). Both are passed so that a kernel picks
// the one its paper uses at compile time, without a branch in the loop.
struct ScoreMapBase {
  static constexpr bool is_feature = false;
  static constexpr bool separate_mass = false;
  static constexpr bool has_recurrent_form = false;
  static constexpr ScaleMode scale_mode = ScaleMode::inv_sqrt_d;
  static constexpr TileHooks tile_hooks = TileHooks::scalar;
  template <class T>
  SINKLAB_HOST_DEVICE static T row_offset(int, int, T) {
    return T(0);
  }
};

// exp(s) — softmax attention (Vaswani et al. 2017, eq. 1).
struct Exp : ScoreMapBase {
  static constexpr const char* name = "Exp";
  static constexpr TileHooks tile_hooks = TileHooks::vectorised;
  static constexpr bool shift_equivariant = true, overflows_unshifted = true;
  template <class T>
  SINKLAB_HOST_DEVICE static T weight(T s, T m) {
    return detail::exp_(s - m);
  }
  template <class T>
  SINKLAB_HOST_DEVICE static T dweight(T s, T m) {
    return detail::exp_(s - m);
  }
  template <class T>
  SINKLAB_HOST_DEVICE static T mass(T s, T m) {
    return weight(s, m);
  }
  template <class T>
  SINKLAB_HOST_DEVICE static T dmass(T s, T m) {
    return dweight(s, m);
  }
  // CPU tile hooks on Eigen arrays (SIMD exp); same math as weight/dweight.
  template <class A, class T>
  static auto weight_vec(const A& s, T m) {
    return (s - m).exp();
  }
  template <class A, class T, class P>
  static const P& dweight_vec(const A&, T, const P& p) {
    return p;
  }
};

// exp(min(s, C)) — bounded by e^C, so no shift is needed (Mongaras & Larson, RNN perspective, §5; C = 5).
template <int C>
struct ClampedExp : ScoreMapBase {
  static constexpr const char* name = "ClampedExp";
  static constexpr TileHooks tile_hooks = TileHooks::vectorised;
  static constexpr int clamp = C;
  static constexpr bool shift_equivariant = false, overflows_unshifted = false;
  template <class T>
  SINKLAB_HOST_DEVICE static T weight(T s, T) {
    return detail::exp_(detail::min_(s, T(C)));
  }
  // torch.clamp passes the gradient on the closed interval, so s == C still has slope e^C.
  template <class T>
  SINKLAB_HOST_DEVICE static T dweight(T s, T) {
    return s <= T(C) ? detail::exp_(s) : T(0);
  }
  template <class T>
  SINKLAB_HOST_DEVICE static T mass(T s, T m) {
    return weight(s, m);
  }
  template <class T>
  SINKLAB_HOST_DEVICE static T dmass(T s, T m) {
    return dweight(s, m);
  }
  template <class A, class T>
  static auto weight_vec(const A& s, T) {
    return s.min(T(C)).exp();
  }
  template <class A, class T, class P>
  static auto dweight_vec(const A& s, T, const P& p) {
    return (s <= T(C)).template cast<T>() * p;
  }
};

// Σ_{n<N} sⁿ/n! — truncated Taylor series of exp (RNN perspective, `softmax_taylor_80terms`). A polynomial:
// shifting by m is not exact, so it is always evaluated at absolute scale.
//
// Evaluation (Note [Taylor as exp]): inside [exp_range.lo, exp_range.hi] the truncation error of both T_N and
// T_{N−1} = dT_N/ds is below a quarter ulp of T relative to the value, so there T_N(s) and e^s are the same
// number in T and we return e^s: one SIMD exp per score instead of 2(N−1) operations, and more accurate than a
// float Horner loop, which loses everything to cancellation at s ≈ −15 (intermediate terms ~1e5, result ~1e−7).
// Outside it (|s| ≳ 19 in float, ≳ 15 in double for N = 80) the polynomial differs from exp and Horner computes it.
template <int N>
struct TaylorExp : ScoreMapBase {
  static_assert(N >= 2, "TaylorExp<N> needs at least the terms 1 + s");
  static constexpr const char* name = "TaylorExp";
  static constexpr TileHooks tile_hooks = TileHooks::fused_row;
  static constexpr int terms = N;
  static constexpr bool shift_equivariant = false, overflows_unshifted = false;

  struct Range {
    double lo, hi;
  };
  // Bounds on the remainder of the M-term series (M = N − 1, the shorter of T_N and T_{N−1}), relative to e^s:
  // s ≥ 0: Σ_{n≥M} sⁿ/n! ≤ e^s·s^M/M!;  s < 0 (Lagrange): |R| ≤ |s|^M/M!, i.e. |s|^M/M!·e^{|s|} relative to e^s.
  // Scanned on a 1/16 grid at compile time; tol = ε/4 of T.
  SINKLAB_HOST_DEVICE static constexpr double pow_over_fact(double x, int M) {  // x^M / M! without overflow
    double r = 1.0;
    for (int k = 1; k <= M; ++k) r *= x / k;
    return r;
  }
  SINKLAB_HOST_DEVICE static constexpr double exp_series(double x, int M) {  // e^x, x ≥ 0 (constexpr)
    double term = 1.0, sum = 1.0;  // stops before terms underflow: nvcc's constexpr evaluator rejects that
    for (int k = 1; k < 4 * M + 64 && term > 1e-30 * sum; ++k) sum += (term *= x / k);
    return sum;
  }
  template <class T>
  SINKLAB_HOST_DEVICE static constexpr Range exp_range() {
    constexpr int M = N - 1;
    const double tol = sizeof(T) == 4 ? 0x1p-25 : 0x1p-54;
    Range r{0.0, 0.0};
    for (double x = 1.0 / 16; x < 2.0 * M; x += 1.0 / 16) {
      if (pow_over_fact(x, M) > tol) break;
      r.hi = x;
    }
    for (double x = 1.0 / 16; x < 2.0 * M; x += 1.0 / 16) {
      if (pow_over_fact(x, M) * exp_series(x, M) > tol) break;
      r.lo = -x;
    }
    return r;
  }
  template <class T>
  SINKLAB_HOST_DEVICE static bool exp_exact(T s) {
    constexpr Range r = exp_range<T>();
    return s >= T(r.lo) && s <= T(r.hi);
  }
  template <class T>
  SINKLAB_HOST_DEVICE static T horner(T s, int terms) {
    T r = T(1);
    for (int n = terms - 1; n >= 1; --n) r = T(1) + s * r / T(n);
    return r;
  }
  template <class T>
  SINKLAB_HOST_DEVICE static T weight(T s, T) {
    return exp_exact(s) ? detail::exp_(s) : horner(s, N);
  }
  template <class T>
  SINKLAB_HOST_DEVICE static T dweight(T s, T) {  // d/ds Σ_{n<N} = Σ_{n<N−1}
    return exp_exact(s) ? detail::exp_(s) : horner(s, N - 1);
  }
  // CPU tile hooks: a vectorised exp for the whole row; Horner only for the scores outside the exp range, which
  // one min/max test per row rules out in the common case.
  template <int Terms, class A, class P>
  static void horner_outside(const A& s, P& p) {  // p holds e^s on entry
    constexpr Range r = exp_range<typename A::Scalar>();
    if (s.minCoeff() >= typename A::Scalar(r.lo) && s.maxCoeff() <= typename A::Scalar(r.hi)) return;
    for (long j = 0; j < long(s.size()); ++j)
      if (!exp_exact(s[j])) p[j] = horner(s[j], Terms);
  }
  template <class A, class T>
  static auto weight_vec(const A& s, T) {
    typename A::PlainObject p = s.exp();
    horner_outside<N>(s, p);
    return p;
  }
  template <class A, class T, class P>
  static auto dweight_vec(const A& s, T, const P&) {
    typename A::PlainObject d = s.exp();
    horner_outside<N - 1>(s, d);
    return d;
  }
  template <class A, class T, class P>
  static T forward_row(const A& s, T, P& p) {
    p = s.exp();
    horner_outside<N>(s, p);
    return p.sum();
  }
  template <class A, class T, class P, class DS>
  static void backward_row(const A& s, T, const A& dp, T dl, P& p, DS& ds) {  // ds = T_{N−1}(s)·(dp + dℓ)
    ds = s.exp();
    p = ds;
    horner_outside<N>(s, p);
    horner_outside<N - 1>(s, ds);
    ds *= dp + dl;
  }
  template <class T>
  SINKLAB_HOST_DEVICE static T mass(T s, T m) {
    return weight(s, m);
  }
  template <class T>
  SINKLAB_HOST_DEVICE static T dmass(T s, T m) {
    return dweight(s, m);
  }
};

// σ(s + b). The bias b:
//   zero          b = 0 (sink paper §6, "sigmoid");
//   minus_log_n   b = −log n with n = S, the sequence length of the keys: one scalar for every row of the head,
//                 whatever the mask, a sink slot not counted (Ramapuram et al. 2024, "Theory, analysis, and best
//                 practices for sigmoid self-attention"; FlashSigmoid and axlearn do the same);
//   minus_log_n_i b = −log n_i, n_i the keys row i sees, a sink slot counted: a per-query form of that bias.
enum class SigmoidBias { zero, minus_log_n, minus_log_n_i };
template <SigmoidBias Bias = SigmoidBias::zero>
struct Sigmoid : ScoreMapBase {
  static constexpr TileHooks tile_hooks = TileHooks::vectorised;
  static constexpr const char* name = Bias == SigmoidBias::zero          ? "Sigmoid"
                                      : Bias == SigmoidBias::minus_log_n ? "Sigmoid(-log n)"
                                                                         : "Sigmoid(-log n_i)";
  static constexpr bool shift_equivariant = false, overflows_unshifted = false;
  template <class T>
  SINKLAB_HOST_DEVICE static T row_offset(int n_i, int seq_len, T) {
    if constexpr (Bias == SigmoidBias::zero)
      return T(0);
    else if constexpr (Bias == SigmoidBias::minus_log_n)
      return -detail::log_(T(seq_len));
    else
      return -detail::log_(T(n_i));
  }
  template <class T>
  SINKLAB_HOST_DEVICE static T weight(T s, T) {
    // both branches are the same function; each is the one that cannot overflow for its sign of s
    if (s >= T(0)) return T(1) / (T(1) + detail::exp_(-s));
    const T e = detail::exp_(s);
    return e / (T(1) + e);
  }
  template <class T>
  SINKLAB_HOST_DEVICE static T dweight(T s, T m) {
    const T y = weight(s, m);
    return y * (T(1) - y);
  }
  template <class A, class T>
  static auto weight_vec(const A& s, T) {
    return s.logistic();
  }
  template <class A, class T, class P>
  static auto dweight_vec(const A&, T, const P& p) {
    return p * (T(1) - p);
  }
  template <class T>
  SINKLAB_HOST_DEVICE static T mass(T s, T m) {
    return weight(s, m);
  }
  template <class T>
  SINKLAB_HOST_DEVICE static T dmass(T s, T m) {
    return dweight(s, m);
  }
};

// elu(s) + 1 on the score (sink paper §6, "elu").
struct EluPlus1 : ScoreMapBase {
  static constexpr const char* name = "EluPlus1";
  static constexpr TileHooks tile_hooks = TileHooks::vectorised;
  static constexpr bool shift_equivariant = false, overflows_unshifted = false;
  template <class T>
  SINKLAB_HOST_DEVICE static T weight(T s, T) {
    return s > T(0) ? s + T(1) : detail::exp_(s);
  }
  template <class T>
  SINKLAB_HOST_DEVICE static T dweight(T s, T) {
    return s > T(0) ? T(1) : detail::exp_(s);
  }
  // select() is not vectorised in Eigen 3.4: elu(s)+1 = max(s, 0) + e^{min(s, 0)}, d/ds = e^{min(s, 0)}
  template <class A, class T>
  static auto weight_vec(const A& s, T) {
    return s.max(T(0)) + s.min(T(0)).exp();
  }
  template <class A, class T, class P>
  static auto dweight_vec(const A& s, T, const P&) {
    return s.min(T(0)).exp();
  }
  template <class T>
  SINKLAB_HOST_DEVICE static T mass(T s, T m) {
    return weight(s, m);
  }
  template <class T>
  SINKLAB_HOST_DEVICE static T dmass(T s, T m) {
    return dweight(s, m);
  }
};

// relu(s) on the score (DESIGN §3 table; ReLU attention, Shen et al. 2023).
struct Relu : ScoreMapBase {
  static constexpr const char* name = "Relu";
  static constexpr bool shift_equivariant = false, overflows_unshifted = false;
  template <class T>
  SINKLAB_HOST_DEVICE static T weight(T s, T) {
    return s > T(0) ? s : T(0);
  }
  template <class T>
  SINKLAB_HOST_DEVICE static T dweight(T s, T) {
    return s > T(0) ? T(1) : T(0);
  }
  template <class T>
  SINKLAB_HOST_DEVICE static T mass(T s, T m) {
    return weight(s, m);
  }
  template <class T>
  SINKLAB_HOST_DEVICE static T dmass(T s, T m) {
    return dweight(s, m);
  }
};

// min(relu(s), C) on the score (DESIGN §3 table).
template <int C>
struct ClampedRelu : ScoreMapBase {
  static constexpr const char* name = "ClampedRelu";
  static constexpr bool shift_equivariant = false, overflows_unshifted = false;
  template <class T>
  SINKLAB_HOST_DEVICE static T weight(T s, T) {
    return s > T(0) ? detail::min_(s, T(C)) : T(0);
  }
  template <class T>
  SINKLAB_HOST_DEVICE static T dweight(T s, T) {
    return (s > T(0) && s <= T(C)) ? T(1) : T(0);
  }
  template <class T>
  SINKLAB_HOST_DEVICE static T mass(T s, T m) {
    return weight(s, m);
  }
  template <class T>
  SINKLAB_HOST_DEVICE static T dmass(T s, T m) {
    return dweight(s, m);
  }
};

// Softpick (Zuhri et al. 2025, eq. 2): relu(eˢ − 1) / Σ|eˢ − 1|. Shifted: e^{s−m} − e^{−m} = (eˢ − 1)e^{−m}.
struct Softpick : ScoreMapBase {
  static constexpr const char* name = "Softpick";
  static constexpr TileHooks tile_hooks = TileHooks::fused_row;
  static constexpr bool shift_equivariant = true, overflows_unshifted = true, separate_mass = true;
  template <class T>
  SINKLAB_HOST_DEVICE static T weight(T s, T m) {
    const T x = detail::exp_(s - m) - detail::exp_(-m);
    return x > T(0) ? x : T(0);
  }
  template <class T>
  SINKLAB_HOST_DEVICE static T dweight(T s, T m) {
    return s > T(0) ? detail::exp_(s - m) : T(0);
  }
  template <class T>
  SINKLAB_HOST_DEVICE static T mass(T s, T m) {
    return detail::abs_(detail::exp_(s - m) - detail::exp_(-m));
  }
  template <class T>
  SINKLAB_HOST_DEVICE static T dmass(T s, T m) {
    const T e = detail::exp_(s - m);
    return s > T(0) ? e : (s < T(0) ? -e : T(0));
  }
  // CPU tile hooks: x = e^{s−m} − e^{−m}; weight relu(x), mass |x|
  template <class A, class T>
  static auto weight_vec(const A& s, T m) {
    return ((s - m).exp() - detail::exp_(-m)).max(T(0));
  }
  template <class A, class T>
  static auto mass_vec(const A& s, T m) {
    return ((s - m).exp() - detail::exp_(-m)).abs();
  }
  template <class A, class T, class P>
  static auto dweight_vec(const A& s, T m, const P&) {
    return (s > T(0)).template cast<T>() * (s - m).exp();
  }
  template <class A, class T>
  static auto dmass_vec(const A& s, T m) {
    return ((s > T(0)).template cast<T>() - (s < T(0)).template cast<T>()) * (s - m).exp();
  }
  // Whole-row hooks that the CPU tiles prefer when a kernel has them: the same math with one exp per score
  // instead of two (forward) or three (backward). x = e^{s−m} − e^{−m} is staged in the output row itself.
  template <class A, class T, class P>
  static T forward_row(const A& s, T m, P& p) {  // p = relu(x); returns Σ|x|
    p = (s - m).exp() - detail::exp_(-m);
    const T mass = p.abs().sum();
    p = p.max(T(0));
    return mass;
  }
  template <class A, class T, class P, class DS>
  static void backward_row(const A& s, T m, const A& dp, T dl, P& p, DS& ds) {  // ds = [s>0]e·dp + sign(s)e·dℓ
    ds = (s - m).exp();
    p = (ds - detail::exp_(-m)).max(T(0));
    const auto pos = (s > T(0)).template cast<T>();
    ds = ds * (pos * dp + (pos - (s < T(0)).template cast<T>()) * dl);
  }
};


// κ(q, k) = min(scale·φ(q)·φ(k), Clamp) (Clamp ≤ 0: no clamp). Katharopoulos et al. 2020; sink paper §6;
// RNN perspective `gated_relu_*` uses φ = relu with Clamp = 5.
template <class Phi, ScaleMode Scale = ScaleMode::inv_sqrt_d, int Clamp = 0>
struct Feature {
  using phi_type = Phi;
  static constexpr const char* name = Phi::name;
  static constexpr auto params = params_of<Phi>();
  static constexpr int clamp = Clamp;
  static constexpr bool is_feature = true;
  static constexpr bool shift_equivariant = false, overflows_unshifted = false, separate_mass = false;
  static constexpr bool has_recurrent_form = Clamp <= 0;  // min(·, c) breaks the associativity the recurrence needs
  static constexpr ScaleMode scale_mode = Scale;
  static constexpr TileHooks tile_hooks = TileHooks::vectorised;
  template <class T>
  SINKLAB_HOST_DEVICE static T row_offset(int, int, T) {
    return T(0);
  }
  template <class T>
  SINKLAB_HOST_DEVICE static T weight(T s, T) {
    if constexpr (Clamp > 0)
      return detail::min_(s, T(Clamp));
    else
      return s;
  }
  template <class T>
  SINKLAB_HOST_DEVICE static T dweight(T s, T) {
    if constexpr (Clamp > 0)
      return s <= T(Clamp) ? T(1) : T(0);
    else
      return T(1);
  }
  template <class A, class T>
  static auto weight_vec(const A& s, T) {
    if constexpr (Clamp > 0)
      return s.min(T(Clamp));
    else
      return s;
  }
  template <class A, class T, class P>
  static auto dweight_vec(const A& s, T, const P&) {
    if constexpr (Clamp > 0)
      return (s <= T(Clamp)).template cast<T>();
    else
      return s * T(0) + T(1);
  }
  template <class T>
  SINKLAB_HOST_DEVICE static T mass(T s, T m) {
    return weight(s, m);
  }
  template <class T>
  SINKLAB_HOST_DEVICE static T dmass(T s, T m) {
    return dweight(s, m);
  }
};

// A learnable per-head temperature on a score kernel: s_ij = e^{θ_h}·scale·q_i·k_j (+ bias), θ_h learnable and 0 at
// initialisation (the base kernel exactly). The entry points apply it to the queries (Note [query scale]).
template <Kernel Base>
struct LearnedTemperature : Base {
  static_assert(!Base::is_feature, "LearnedTemperature scales the score q·k; a feature kernel's φ(q) is not linear in q");
  using base = Base;
  static constexpr ParamSpec query_log_scale{"log_temperature", "attn_log_temperature", Extent::head};
  static constexpr std::array params{query_log_scale};
};

// True for feature kernels whose φ has weights (SharedMLP).
template <class K>
constexpr bool has_learnable_phi() {
  if constexpr (K::is_feature)
    return K::phi_type::learnable;
  else
    return false;
}

}  // namespace kernel
}  // namespace sinklab::attention
