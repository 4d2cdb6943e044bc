#pragma once
// The named registry (DESIGN §3.1): every variant name of the papers, spelled as in their configs, mapped to one
// Variant type. A runtime string becomes a type exactly once, by visit_variant and a generic lambda:
//     visit_variant("softmax_divS_gate", [&]<class V>() { fused_forward<V>(p, in, out); });
// or fn(std::type_identity<V>{}). The window (mask, bias, slot) is a runtime value of the single `Window` type
// (Note [one window type]), so it does not multiply the instantiations.
// Adding a variant = one row struct here (+ a policy only if its axis lacks one); the table that `--list-variants`
// prints and docs/VARIANTS.md come from these rows.
#include <algorithm>
#include <array>
#include <cstddef>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "sinklab/attention/variant.hpp"
#include "sinklab/core/error.hpp"

namespace sinklab::attention {

struct VariantInfo {
  const char* name;
  const char* kernel;
  const char* normalizer;
  const char* gate;
  const char* citation;
};

template <class... Ts>
struct TypeList {
  static constexpr std::size_t size = sizeof...(Ts);
};

namespace meta {
template <class Acc, class... Ts>
struct Unique;
template <class... As>
struct Unique<TypeList<As...>> {
  using type = TypeList<As...>;
};
template <class... As, class T, class... Ts>
struct Unique<TypeList<As...>, T, Ts...> {
  using type = typename std::conditional_t<(std::is_same_v<T, As> || ...), Unique<TypeList<As...>, Ts...>,
                                           Unique<TypeList<As..., T>, Ts...>>::type;
};
template <std::size_t I, class L>
struct At;
template <std::size_t I, class T, class... Ts>
struct At<I, TypeList<T, Ts...>> : At<I - 1, TypeList<Ts...>> {};
template <class T, class... Ts>
struct At<0, TypeList<T, Ts...>> {
  using type = T;
};
template <class T, class L>
struct IndexOf;
template <class T, class... Ts>
struct IndexOf<T, TypeList<Ts...>> {
  static constexpr std::size_t value = [] {
    constexpr bool same[] = {std::is_same_v<T, Ts>...};
    for (std::size_t i = 0; i < sizeof...(Ts); ++i)
      if (same[i]) return i;
    return sizeof...(Ts);
  }();
};
}  // namespace meta

namespace variants {

using CExp5 = kernel::ClampedExp<5>;
template <class K, class Row, class Vec = vec::None, class Grad = grad::Normal, class G = gate::None>
using V = Variant<K, Normalizer<Row, Vec, Grad>, G>;
using HeadPre = gate::Out<gate::Headwise, gate::PreNorm>;
using HeadPost = gate::Out<gate::Headwise, gate::PostNorm>;
using InOutPre = gate::Both<gate::Headwise, gate::PreNorm>;
using LN = vec::LayerNorm<>;
using RMS = vec::RMSNorm<>;
template <class Phi, int Clamp = 0>
using Feat = kernel::Feature<Phi, ScaleMode::inv_sqrt_d, Clamp>;
template <class Phi>
using FeatUnit = kernel::Feature<Phi, ScaleMode::unit>;

inline constexpr const char* rnn = "Mongaras & Larson, Softmax attention: an RNN perspective (attention_type)";
inline constexpr const char* sink = "Gu et al. 2025, When attention sink emerges (ICLR), §6-7";

#define SINKLAB_ROW(ident, kern, norm, gate_, cite, ...)                \
  struct ident {                                                        \
    static constexpr VariantInfo info{#ident, kern, norm, gate_, cite}; \
    using type = __VA_ARGS__;                                           \
  }

// ---- RNN perspective: every softmax_* except softmax/taylor and every exp gated_* except *_noclamp use exp(min(s,5))
SINKLAB_ROW(softmax, "exp(s)", "÷ Σ", "none", "Vaswani et al. 2017", V<kernel::Exp, row::RowSum<>>);
SINKLAB_ROW(softmax_clamp_denom, "exp(min(s,5))", "÷ max(1, Σ)", "none", rnn, V<CExp5, row::RowSumClampMin1>);
SINKLAB_ROW(softmax_detach_denom, "exp(min(s,5))", "÷ max(1, Σ), denominator detached", "none", rnn,
            V<CExp5, row::RowSumClampMin1, vec::None, grad::Detached>);
SINKLAB_ROW(softmax_detach_denom_gate, "exp(min(s,5))", "÷ (Σ + 1e-4), denominator detached", "out, headwise", rnn,
            V<CExp5, row::RowSum<1e-4>, vec::None, grad::Detached, HeadPre>);
SINKLAB_ROW(softmax_divs, "exp(min(s,5))", "÷ n_i", "none", rnn, V<CExp5, row::DivCount>);
SINKLAB_ROW(softmax_gate, "exp(min(s,5))", "none", "out, headwise", rnn,
            V<CExp5, row::None, vec::None, grad::Normal, HeadPre>);
SINKLAB_ROW(softmax_divS_gate, "exp(min(s,5))", "÷ n_i", "out, headwise", rnn,
            V<CExp5, row::DivCount, vec::None, grad::Normal, HeadPre>);
SINKLAB_ROW(softmax_divS_gatev2, "exp(min(s,5))", "÷ n_i", "rows of A, headwise (= out gate)", rnn,
            V<CExp5, row::DivCount, vec::None, grad::Normal, HeadPre>);
SINKLAB_ROW(softmax_divS_norm, "exp(min(s,5))", "÷ n_i, RMSNorm", "none", rnn, V<CExp5, row::DivCount, RMS>);
SINKLAB_ROW(softmax_taylor_80terms, "Σ_{n<80} sⁿ/n!", "÷ Σ", "none", rnn, V<kernel::TaylorExp<80>, row::RowSum<>>);
SINKLAB_ROW(softmax_taylor_80terms_unnormalized, "Σ_{n<80} sⁿ/n!", "none (as the paper's code returns)", "none", rnn,
            V<kernel::TaylorExp<80>, row::None>);
SINKLAB_ROW(gated_softmax, "exp(min(s,5))", "÷ n_i, LayerNorm", "in + out (pre-norm), headwise", rnn,
            V<CExp5, row::DivCount, LN, grad::Normal, InOutPre>);
SINKLAB_ROW(gated_softmax_no_norm, "exp(min(s,5))", "÷ n_i", "in + out, headwise", rnn,
            V<CExp5, row::DivCount, vec::None, grad::Normal, InOutPre>);
SINKLAB_ROW(gated_softmax_no_in_gate, "exp(min(s,5))", "÷ n_i, LayerNorm", "out (pre-norm), headwise", rnn,
            V<CExp5, row::DivCount, LN, grad::Normal, HeadPre>);
SINKLAB_ROW(gated_softmax_no_out_gate, "exp(min(s,5))", "÷ n_i, LayerNorm", "in, headwise", rnn,
            V<CExp5, row::DivCount, LN, grad::Normal, gate::In>);
SINKLAB_ROW(gated_softmax_no_out_gate_no_norm, "exp(min(s,5))", "÷ n_i", "in, headwise", rnn,
            V<CExp5, row::DivCount, vec::None, grad::Normal, gate::In>);
SINKLAB_ROW(gated_softmax_no_in_gate_no_norm, "exp(min(s,5))", "÷ n_i", "out, headwise", rnn,
            V<CExp5, row::DivCount, vec::None, grad::Normal, HeadPre>);
SINKLAB_ROW(gated_relu_no_in_gate_no_norm, "min(relu(q)·relu(k)/√d, 5)", "÷ n_i", "out, headwise", rnn,
            V<Feat<kernel::phi::Relu, 5>, row::DivCount, vec::None, grad::Normal, HeadPre>);
SINKLAB_ROW(gated_softmax_no_gate, "exp(min(s,5))", "÷ n_i, LayerNorm", "none", rnn, V<CExp5, row::DivCount, LN>);
SINKLAB_ROW(gated_softmax_no_gate_rmsnorm, "exp(min(s,5))", "÷ n_i, RMSNorm", "none", rnn,
            V<CExp5, row::DivCount, RMS>);
SINKLAB_ROW(gated_softmax_no_gate_L2norm_nodivS, "exp(min(s,5))", "L2", "none", rnn, V<CExp5, row::None, vec::L2>);
SINKLAB_ROW(gated_softmax_no_gate_L2norm_nodivS_noclamp, "exp(s)", "L2 (the paper's L2(exp(s)V))", "none", rnn,
            V<kernel::Exp, row::None, vec::L2>);
SINKLAB_ROW(gated_ReLU_no_gate_L2norm_nodivS_noclamp, "relu(q)·relu(k)/√d", "L2", "none", rnn,
            V<Feat<kernel::phi::Relu>, row::None, vec::L2>);
SINKLAB_ROW(gated_softmax_out_gate_L2norm_nodivS_noclamp, "exp(s)", "L2", "out (pre-norm), headwise", rnn,
            V<kernel::Exp, row::None, vec::L2, grad::Normal, HeadPre>);
SINKLAB_ROW(gated_softmax_post_out_gate_L2norm_nodivS_noclamp, "exp(s)", "L2", "out (post-norm), headwise", rnn,
            V<kernel::Exp, row::None, vec::L2, grad::Normal, HeadPost>);
SINKLAB_ROW(gated_softmax_no_gate_rmsnorm_nodivS, "exp(min(s,5))", "RMSNorm", "none", rnn, V<CExp5, row::None, RMS>);
SINKLAB_ROW(gated_softmax_no_gate_no_norm, "exp(min(s,5))", "÷ n_i", "none", rnn, V<CExp5, row::DivCount>);
SINKLAB_ROW(linear_elu, "(elu(q)+1)·(elu(k)+1)", "÷ Σ", "none", "Katharopoulos et al. 2020; RNN perspective",
            V<FeatUnit<kernel::phi::EluPlus1>, row::RowSum<>>);
SINKLAB_ROW(linear_relu, "relu(q)·relu(k)", "÷ (Σ + 1e-8)", "none", "RNN perspective",
            V<FeatUnit<kernel::phi::Relu>, row::RowSum<1e-8>>);
SINKLAB_ROW(linear_cosine, "q/‖q‖ · k/‖k‖", "none", "none", "RNN perspective",
            V<FeatUnit<kernel::phi::L2Normalize>, row::None>);
// ---- attention-sink paper (all scaled by 1/√d)
SINKLAB_ROW(sigmoid, "σ(s)", "none", "none", sink, V<kernel::Sigmoid<>, row::None>);
SINKLAB_ROW(sigmoid_norm, "σ(s)", "÷ (Σ + 1e-8)", "none", sink, V<kernel::Sigmoid<>, row::RowSum<1e-8>>);
SINKLAB_ROW(elu, "elu(s)+1", "none", "none", sink, V<kernel::EluPlus1, row::None>);
SINKLAB_ROW(elu_norm, "elu(s)+1", "÷ (Σ + 1e-8)", "none", sink, V<kernel::EluPlus1, row::RowSum<1e-8>>);
SINKLAB_ROW(kernel_linear, "q·k/√d", "none", "none", sink, V<Feat<kernel::phi::Identity>, row::None>);
SINKLAB_ROW(kernel_linear_norm, "q·k/√d", "÷ max(|Σ|, 1)", "none", sink,
            V<Feat<kernel::phi::Identity>, row::AbsRowSumClampMin1>);
SINKLAB_ROW(kernel_elu, "(elu(q)+1)·(elu(k)+1)/√d", "none", "none", sink, V<Feat<kernel::phi::EluPlus1>, row::None>);
SINKLAB_ROW(kernel_elu_norm, "(elu(q)+1)·(elu(k)+1)/√d", "÷ (Σ + 1e-8)", "none", sink,
            V<Feat<kernel::phi::EluPlus1>, row::RowSum<1e-8>>);
SINKLAB_ROW(kernel_mlp, "mlp(q)·mlp(k)/√d, shared 2-layer ReLU MLP", "none", "none", sink,
            V<Feat<kernel::phi::SharedMLP>, row::None>);
SINKLAB_ROW(kernel_mlp_norm, "mlp(q)·mlp(k)/√d, shared 2-layer ReLU MLP", "÷ max(|Σ|, 1)", "none", sink,
            V<Feat<kernel::phi::SharedMLP>, row::AbsRowSumClampMin1>);
// ---- beyond both
SINKLAB_ROW(softmax1, "exp(s)", "÷ (Σ + 1)", "none", "Miller 2023, Attention is off by one",
            V<kernel::Exp, row::RowSumPlusSink<row::SinkLogit::unit>>);
SINKLAB_ROW(softmax_sink, "exp(s)", "÷ (Σ + e^{b_h}), learnable b_h", "none", "OpenAI 2025, gpt-oss model card",
            V<kernel::Exp, row::RowSumPlusSink<row::SinkLogit::learned>>);
SINKLAB_ROW(gated_attention, "exp(s)", "÷ Σ", "out (after SDPA), elementwise",
            "Qiu et al. 2025, Gated attention for LLMs (G1)",
            V<kernel::Exp, row::RowSum<>, vec::None, grad::Normal, gate::Out<gate::Elementwise, gate::PostNorm>>);
SINKLAB_ROW(gated_attention_headwise, "exp(s)", "÷ Σ", "out (after SDPA), headwise",
            "Qiu et al. 2025, Gated attention for LLMs (G1, headwise)",
            V<kernel::Exp, row::RowSum<>, vec::None, grad::Normal, HeadPost>);
SINKLAB_ROW(sigmoid_bias, "σ(s − log S), one b = −log S for every row and mask; a sink slot is not counted in S",
            "none", "none", "Ramapuram et al. 2024, Theory of sigmoid attention (FlashSigmoid)",
            V<kernel::Sigmoid<kernel::SigmoidBias::minus_log_n>, row::None>);
SINKLAB_ROW(sigmoid_bias_per_row, "σ(s − log n_i), a bias per row; a sink slot is counted in n_i", "none", "none",
            "per-query form of Ramapuram et al. 2024's bias",
            V<kernel::Sigmoid<kernel::SigmoidBias::minus_log_n_i>, row::None>);
SINKLAB_ROW(softpick, "relu(eˢ − 1)", "÷ (Σ|eˢ − 1| + 1e-6)", "none", "Zuhri et al. 2025, Softpick",
            V<kernel::Softpick, row::RowSum<1e-6>>);
SINKLAB_ROW(softmax_temperature, "exp(e^{θ_h}·s), learnable per-head temperature θ_h (0 at init)", "÷ Σ", "none",
            "per-head learnable temperature (cf. Henry et al. 2020, Query-Key Normalization's learned scale)",
            V<kernel::LearnedTemperature<kernel::Exp>, row::RowSum<>>);

#undef SINKLAB_ROW

using all_rows =
    TypeList<softmax, softmax_clamp_denom, softmax_detach_denom, softmax_detach_denom_gate, softmax_divs, softmax_gate,
             softmax_divS_gate, softmax_divS_gatev2, softmax_divS_norm, softmax_taylor_80terms,
             softmax_taylor_80terms_unnormalized, gated_softmax, gated_softmax_no_norm, gated_softmax_no_in_gate,
             gated_softmax_no_out_gate, gated_softmax_no_out_gate_no_norm, gated_softmax_no_in_gate_no_norm,
             gated_relu_no_in_gate_no_norm, gated_softmax_no_gate, gated_softmax_no_gate_rmsnorm,
             gated_softmax_no_gate_L2norm_nodivS, gated_softmax_no_gate_L2norm_nodivS_noclamp,
             gated_ReLU_no_gate_L2norm_nodivS_noclamp, gated_softmax_out_gate_L2norm_nodivS_noclamp,
             gated_softmax_post_out_gate_L2norm_nodivS_noclamp, gated_softmax_no_gate_rmsnorm_nodivS,
             gated_softmax_no_gate_no_norm, linear_elu, linear_relu, linear_cosine, sigmoid, sigmoid_norm, elu,
             elu_norm, kernel_linear, kernel_linear_norm, kernel_elu, kernel_elu_norm, kernel_mlp, kernel_mlp_norm,
             softmax1, softmax_sink, gated_attention, gated_attention_headwise, sigmoid_bias, sigmoid_bias_per_row,
             softpick, softmax_temperature>;

}  // namespace variants

namespace detail {
template <class... Rows>
constexpr auto table_of(TypeList<Rows...>) {
  return std::array<VariantInfo, sizeof...(Rows)>{Rows::info...};
}
template <class... Rows>
auto unique_types_of(TypeList<Rows...>) -> typename meta::Unique<TypeList<>, typename Rows::type...>::type;
}  // namespace detail

inline constexpr auto variant_table = detail::table_of(variants::all_rows{});
inline constexpr std::size_t variant_count = variant_table.size();
// Distinct Variant types behind the names (aliases such as softmax_divs == gated_softmax_no_gate_no_norm share one).
using unique_variant_types = decltype(detail::unique_types_of(variants::all_rows{}));

namespace detail {
template <class... Rows>
constexpr auto row_to_unique_of(TypeList<Rows...>) {
  return std::array<std::size_t, sizeof...(Rows)>{meta::IndexOf<typename Rows::type, unique_variant_types>::value...};
}
}  // namespace detail
inline constexpr auto variant_unique_index = detail::row_to_unique_of(variants::all_rows{});

// Levenshtein distance, for "did you mean".
inline std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// The (up to) `count` registry names nearest to `name`.
inline std::vector<std::string> nearest_variant_names(std::string_view name, std::size_t count = 3) {
  std::vector<std::pair<std::size_t, std::string>> scored;
  for (const auto& row : variant_table) scored.emplace_back(edit_distance(name, row.name), row.name);
  std::stable_sort(scored.begin(), scored.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<std::string> out;
  for (std::size_t i = 0; i < std::min(count, scored.size()); ++i) out.push_back(scored[i].second);
  return out;
}

// Row index of a name; throws sinklab::Error naming the nearest names when unknown.
inline std::size_t variant_index(std::string_view name) {
  for (std::size_t i = 0; i < variant_count; ++i)
    if (name == variant_table[i].name) return i;
  std::ostringstream os;
  const auto near = nearest_variant_names(name);
  for (std::size_t i = 0; i < near.size(); ++i) os << (i ? ", " : "") << '\'' << near[i] << '\'';
  SINKLAB_FAIL("unknown attention variant '", name, "'; nearest names: ", os.str(), " (--list-variants prints all ",
               variant_count, ")");
}

namespace detail {
template <class V, class F>
decltype(auto) call_with_type(F& fn) {
  if constexpr (requires { fn(std::type_identity<V>{}); })
    return fn(std::type_identity<V>{});
  else
    return fn.template operator()<V>();
}
template <class F, class... Rows>
void visit_rows(std::size_t index, F& fn, TypeList<Rows...>) {
  std::size_t i = 0;
  ((i++ == index ? (void)call_with_type<typename Rows::type>(fn) : void()), ...);
}
}  // namespace detail

// Calls fn.template operator()<V>() (or fn(std::type_identity<V>{})) with the Variant registered under `name`.
// Instantiates fn for every registered type: call it once, where the model is built.
template <class F>
void visit_variant(std::string_view name, F&& fn) {
  detail::visit_rows(variant_index(name), fn, variants::all_rows{});
}

// `--list-variants`: one line per name.
inline void print_variant_table(std::ostream& os) {
  std::size_t w = 0;
  for (const auto& r : variant_table) w = std::max(w, std::string_view(r.name).size());
  for (const auto& r : variant_table) {
    os << r.name << std::string(w + 2 - std::string_view(r.name).size(), ' ') << "κ = " << r.kernel << " | "
       << r.normalizer << " | gate: " << r.gate << " | " << r.citation << '\n';
  }
}

// docs/VARIANTS.md, generated from the same rows (tests/attention check the checked-in file is current).
inline std::string variants_markdown() {
  auto cell = [](const char* s) {
    std::string out;
    for (const char* c = s; *c; ++c) out += *c == '|' ? std::string("\\|") : std::string(1, *c);
    return out;
  };
  std::ostringstream os;
  os << "# Attention variants\n\n"
     << "Generated from `include/sinklab/attention/variants.hpp` (`sinklab::attention::variants_markdown()`); do not "
        "edit by hand.\n"
     << "Every name takes a runtime window: mask `causal | sliding (w) | prefix (p) | full`, score bias "
        "`none | alibi | relative_bucket`, sink slot `none | k | kv`.\n"
     << "Symbols: s = scale·q_i·k_j plus the window's score bias; S = the sequence length (its keys; a sink slot is "
        "not counted); n_i = the keys query row i sees under the mask (a sink slot counted); Σ = a sum over those "
        "keys, of the kernel's weights unless written out.\n\n"
     << "| name | kernel κ | normalizer | gate | source |\n|---|---|---|---|---|\n";
  for (const auto& r : variant_table)
    os << "| `" << r.name << "` | " << cell(r.kernel) << " | " << cell(r.normalizer) << " | " << cell(r.gate) << " | "
       << cell(r.citation) << " |\n";
  os << "\n## Notes\n\n"
     << "- `sigmoid_bias` is the sigmoid attention of Ramapuram et al. 2024 (FlashSigmoid, axlearn): "
        "w_ij = σ(s_ij + b) with one scalar b = −log S for every row of the head, causal, sliding, prefix or full. "
        "It does not depend on how many keys a row sees: the first row of a causal mask gets the same −log S as "
        "the last.\n"
     << "- `sigmoid_bias_per_row` subtracts log n_i instead: w_ij = σ(s_ij − log n_i), each row biased by its own "
        "count of visible keys. Without a slot n_i ≤ S, so each of its weights is at least `sigmoid_bias`'s, equal "
        "on the rows that see all S keys (under a causal mask, the last row only).\n";
  return os.str();
}

}  // namespace sinklab::attention
