#pragma once
// Window axis (DESIGN §3): which keys a query sees, the additive score bias that lives with the mask, and the
// sink slot (an extra learnable key, optionally with a value, visible to every row).
//
// Note [one window type]. Mask, bias and slot are all chosen at runtime and compose into ONE policy type, `Window`,
// so the registry needs one instantiation per (kernel, normalizer, gate) and not ×4 masks ×3 biases ×3 slots.
//   * mask: visible(i, j) = (j < prefix) ∨ (i − left < j ≤ i + right), computed arithmetically from three ints:
//       causal (left = ∞, right = 0), sliding window w (left = w), prefix LM p (prefix = p), full (right = ∞).
//   * bias: depends only on (h, j − i), so it is tabulated once per call as bias[h][j − i + S − 1] =
//       slope_h·(j − i) + table_h[bucket(i − j)]; ALiBi leaves the table at 0, the relative bucket bias leaves the
//       slope at 0. The inner loop adds one gathered value, with no branch on the bias kind.
//   * slot: a per-head key (and value) handled as key column −1 before the key tiles; it has no position, so no
//       bias, and it counts in n_i (it is a visible key).
// Tile hooks (`classify`) tell the loop which (query block × key block) tiles are empty (skipped: causal does ~half
// the work, a sliding window O(S·w)), full (no per-element mask) or partial.
#include <cmath>
#include <string>
#include <vector>

#include "sinklab/attention/param_spec.hpp"
#include "sinklab/core/config.hpp"
#include "sinklab/core/error.hpp"

namespace sinklab::attention {

enum class MaskKind { causal, sliding, prefix, full };
enum class BiasKind { none, alibi, relative_bucket };
enum class SlotKind { none, k, kv };  // sink paper §7: K-bias (value 0) and KV-bias slots

// What a config or CLI says; turned into a Window once per call.
struct WindowSpec {
  MaskKind mask = MaskKind::causal;
  int window = 0;  // sliding: query i sees keys i−w+1 .. i
  int prefix = 0;  // prefix LM: the first p keys are visible to every query (causal elsewhere)
  BiasKind bias = BiasKind::none;
  SlotKind slot = SlotKind::none;
};

enum class TileClass { empty, partial, full };

// Whether a declared tensor takes part in a call with this window (slot tensors only with a slot).
constexpr bool present(const ParamSpec& s, const WindowSpec& w) {
  switch (s.presence) {
    case Presence::key_slot: return w.slot != SlotKind::none;
    case Presence::value_slot: return w.slot == SlotKind::kv;
    default: return true;
  }
}

namespace param {
// The sink slot's key and value (H, D): learnable; the layer may freeze the key at zero (V-bias, nn/config.hpp).
inline constexpr ParamSpec k_slot{"k_slot", "k_slot", Extent::head_dim, Source::weight, Init::slot_normal, false,
                                  Presence::key_slot};
inline constexpr ParamSpec v_slot{"v_slot", "v_slot", Extent::head_dim, Source::weight, Init::slot_normal, false,
                                  Presence::value_slot};
}  // namespace param

inline constexpr int relative_num_buckets = 32;  // T5 defaults used by the sink paper (bidirectional = false)
inline constexpr int relative_max_distance = 128;

struct Window {
  static constexpr std::array params{param::k_slot, param::v_slot};
  int left = 0, right = 0, prefix = 0;

  static Window from(const WindowSpec& w, int S) {
    const int inf = S + 1;
    switch (w.mask) {
      case MaskKind::causal:
        return {inf, 0, 0};
      case MaskKind::sliding:
        SINKLAB_CHECK(w.window >= 1, "sliding window needs window >= 1, got ", w.window);
        return {w.window, 0, 0};
      case MaskKind::prefix:
        SINKLAB_CHECK(w.prefix >= 0, "prefix LM needs prefix >= 0, got ", w.prefix);
        return {inf, 0, w.prefix};
      case MaskKind::full:
        return {inf, inf, 0};
    }
    SINKLAB_FAIL("unknown mask kind");
  }

  SINKLAB_HOST_DEVICE bool visible(int i, int j) const { return (j < prefix) | ((j > i - left) & (j <= i + right)); }

  // n_i = |{j ∈ [0, S) : visible(i, j)}| (slot not included).
  SINKLAB_HOST_DEVICE int count(int i, int S) const {
    const int lo = i - left + 1 > 0 ? i - left + 1 : 0;
    const int hi = i + right < S - 1 ? i + right : S - 1;  // band [lo, hi]
    const int band = hi >= lo ? hi - lo + 1 : 0;
    const int p = prefix < S ? prefix : S;
    int overlap = (hi + 1 < p ? hi + 1 : p) - lo;  // |[0, p) ∩ [lo, hi]|
    overlap = overlap > 0 ? overlap : 0;
    return band + p - overlap;
  }

  // Rows [i0, i1) × keys [j0, j1).
  SINKLAB_HOST_DEVICE TileClass classify(int i0, int i1, int j0, int j1) const {
    const bool in_prefix = j1 <= prefix;
    const bool band_full = (j0 > (i1 - 1) - left) && (j1 - 1 <= i0 + right);
    if (in_prefix || band_full) return TileClass::full;
    const bool band_empty = (j1 - 1 <= i0 - left) || (j0 > (i1 - 1) + right);
    if (band_empty && j0 >= prefix) return TileClass::empty;
    return TileClass::partial;
  }
};

// T5 relative bucket for distance d = i − j (bidirectional = false: keys after the query share bucket 0).
inline int relative_bucket(int d, int num_buckets = relative_num_buckets, int max_distance = relative_max_distance) {
  if (d <= 0) return 0;
  const int max_exact = num_buckets / 2;
  if (d < max_exact) return d;
  const int large =
      max_exact + static_cast<int>(std::log(static_cast<double>(d) / max_exact) /
                                   std::log(static_cast<double>(max_distance) / max_exact) * (num_buckets - max_exact));
  return large < num_buckets - 1 ? large : num_buckets - 1;
}

// ALiBi slopes (Press et al. 2022, §3): geometric sequence 2^{−8/H}…, interleaved for non-powers of two.
inline std::vector<double> alibi_slopes(int H) {
  auto pow2 = [](int n) {
    std::vector<double> s(n);
    const double start = std::pow(2.0, -std::pow(2.0, -(std::log2(double(n)) - 3)));
    for (int i = 0; i < n; ++i) s[i] = start * std::pow(start, i);
    return s;
  };
  const double l2 = std::log2(double(H));
  if (l2 == std::floor(l2)) return pow2(H);
  const int closest = 1 << static_cast<int>(std::floor(l2));
  std::vector<double> s = pow2(closest), extra = alibi_slopes(2 * closest);
  for (int i = 0; i < H - closest; ++i) s.push_back(extra[2 * i]);
  return s;
}

// bias[h][(j − i) + S − 1] for every head and offset; empty when the spec has no bias.
// slopes: (H) or null for the standard ALiBi slopes. table: (H, 32) or null for the sink paper's unlearned relative
// bias, which adds the bucket index itself (Gu et al., lit_gpt/model_relpos.py).
template <class T>
std::vector<T> make_bias_table(const WindowSpec& w, int H, int S, const T* slopes, const T* table) {
  if (w.bias == BiasKind::none) return {};
  const int width = 2 * S - 1;
  std::vector<T> out(static_cast<std::size_t>(H) * width);
  std::vector<double> std_slopes;
  if (w.bias == BiasKind::alibi && !slopes) std_slopes = alibi_slopes(H);
  for (int h = 0; h < H; ++h)
    for (int off = -(S - 1); off <= S - 1; ++off) {
      double b = 0;
      if (w.bias == BiasKind::alibi)
        b = (slopes ? double(slopes[h]) : std_slopes[h]) * off;
      else {
        const int bucket = relative_bucket(-off);
        b = table ? double(table[h * relative_num_buckets + bucket]) : double(bucket);
      }
      out[static_cast<std::size_t>(h) * width + (off + S - 1)] = static_cast<T>(b);
    }
  return out;
}

inline const char* to_string(MaskKind m) {
  switch (m) {
    case MaskKind::causal:
      return "causal";
    case MaskKind::sliding:
      return "sliding";
    case MaskKind::prefix:
      return "prefix";
    case MaskKind::full:
      return "full";
  }
  return "?";
}

}  // namespace sinklab::attention
