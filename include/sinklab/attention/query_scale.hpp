#pragma once
// Note [query scale]: a kernel may rescale each head's queries by e^{θ_h}, with θ a tensor it declares
// (`query_log_scale`, a ParamSpec of extent (H)) over a base kernel (`base`). For a score kernel that is a per-head
// temperature on the score, s_ij = e^{θ_h}·scale·q_i·k_j (+ bias), because the score is linear in q. The entry
// points of both backends apply it around the base variant, so no tile or row code knows about it:
//     forward:  q' = e^{θ_h} q, then the base variant on q'
//     backward: the base variant's backward on q' gives dq' (and every other gradient); then
//               dθ_h = Σ_{b,i,d} q'·dq'  and  dq = e^{θ_h} dq'
// θ = 0 is the base kernel exactly. This header has what both backends share: the trait, the base variant and the
// per-element functor; the loops are query_scale_cpu.hpp and backend/cuda/attention/aux_kernels.cuh.
#include <concepts>

#include "sinklab/attention/math.hpp"
#include "sinklab/attention/param_spec.hpp"
#include "sinklab/attention/variant.hpp"
#include "sinklab/core/config.hpp"

namespace sinklab::attention {

namespace kernel {
template <class K>
concept ScalesQueries = requires {
  typename K::base;
  { K::query_log_scale } -> std::convertible_to<ParamSpec>;
};
}  // namespace kernel

template <class V>
inline constexpr bool scales_queries_v = kernel::ScalesQueries<typename V::kernel>;

// The variant the entry points run once the queries are scaled: the same axes over the base kernel.
template <class V>
using unscaled_variant_t =
    Variant<typename V::kernel::base, typename V::normalizer, typename V::gate, typename V::window>;

struct QueryScale {
  template <class T>
  SINKLAB_HOST_DEVICE static T factor(T theta) {
    return detail::exp_(theta);
  }
};

}  // namespace sinklab::attention
