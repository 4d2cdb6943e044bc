#pragma once
// Variant<Kernel, Normalizer, Gate, Window>: one attention variant as a composition of the four policy axes, with
// the soundness rules of DESIGN §3 checked at compile time (each rule is one sentence; tests/attention/failtest/*
// prove they fire).
#include <type_traits>

#include "sinklab/attention/gate.hpp"
#include "sinklab/attention/kernel.hpp"
#include "sinklab/attention/normalizer.hpp"
#include "sinklab/attention/window.hpp"

namespace sinklab::attention {

template <class N>
concept NormalizerPolicy = requires {
  typename N::row_stage;
  typename N::vector_stage;
  typename N::grad_mode;
}
&&RowStage<typename N::row_stage>&& VectorStage<typename N::vector_stage>;

template <class G>
concept GatePolicy = requires {
  { G::has_in } -> std::convertible_to<bool>;
  { G::has_out } -> std::convertible_to<bool>;
  { G::out_elementwise } -> std::convertible_to<bool>;
  { G::out_pre_norm } -> std::convertible_to<bool>;
};

// A window policy: built once per call from the runtime spec (mask, sizes), then asked per (row, key) and per tile.
template <class W>
concept WindowPolicy = requires(const W& w, int i, const WindowSpec& spec) {
  { W::from(spec, i) } -> std::same_as<W>;
  { w.visible(i, i) } -> std::convertible_to<bool>;
  { w.count(i, i) } -> std::convertible_to<int>;
  { w.classify(i, i, i, i) } -> std::same_as<TileClass>;
};

template <Kernel K, NormalizerPolicy N, GatePolicy G = gate::None, WindowPolicy W = Window>
struct Variant {
  using kernel = K;
  using normalizer = N;
  using row_stage = typename N::row_stage;
  using vector_stage = typename N::vector_stage;
  using gate = G;
  using window = W;
  // Every tensor beyond q, k, v (Note [parameter lists]): the gate's, the normalizer's, the window's, the kernel's.
  static constexpr auto params = join_params<G, N, W, K>();

  // ---- traits (DESIGN §3 rules) ----
  // Online max subtraction is exact when the kernel factors e^{−m} out and something downstream cancels it: a
  // shift-equivariant row stage, or a scale-invariant vector stage (Note [shifted domain] in normalizer.hpp).
  static constexpr bool shift_equivariant = K::shift_equivariant && row_stage::shift_equivariant;
  static constexpr bool scale_invariant = vector_stage::scale_invariant;
  static constexpr bool use_shift = K::shift_equivariant && (row_stage::shift_equivariant || scale_invariant);
  static constexpr bool has_recurrent_form = K::has_recurrent_form;
  static constexpr bool detached_denominator = N::detached_denominator;

  static_assert(!K::overflows_unshifted || use_shift,
                "an exponential kernel (Exp, Softpick) needs a shift-equivariant row stage (RowSum, RowSumPlusSink) or "
                "a scale-invariant vector stage (L2, RMSNorm, LayerNorm) so the running max can be subtracted "
                "exactly; with DivCount, None or RowSumClampMin1 use ClampedExp<c>, which cannot overflow");
  static_assert(!row_stage::is_plus_sink || std::is_same_v<K, ::sinklab::attention::kernel::Exp>,
                "RowSumPlusSink adds e^b to a sum of exponentials: it is defined for the Exp kernel only");
  static_assert(!K::separate_mass || row_stage::is_row_sum,
                "Softpick's denominator is Σ|e^s − 1|, which only a RowSum<eps> row stage uses; pair it with RowSum");
  static_assert(!N::detached_denominator || row_stage::data_dependent,
                "Detached gradient mode needs a data-dependent denominator (RowSum*, RowSumPlusSink, *ClampMin1); "
                "DivCount and None have nothing to detach");
  static_assert(!(row_stage::mass_abs_proxy && K::overflows_unshifted),
                "AbsRowSumClampMin1 is for kernels whose weights can be negative (feature kernels); exponential "
                "kernels are positive, use RowSum or RowSumClampMin1");
};

// Small helpers the loops use.
template <class V>
inline constexpr bool is_variant_v = false;
template <class K, class N, class G, class W>
inline constexpr bool is_variant_v<Variant<K, N, G, W>> = true;

}  // namespace sinklab::attention
