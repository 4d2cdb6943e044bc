#pragma once
// Plain structs of pointers + sizes passed to every attention entry point (fused, reference, weights, AnyAttention).
// Everything is contiguous row-major; B batch, H query heads, Hkv key/value heads (H % Hkv == 0; query head h uses
// kv head h / (H / Hkv)), S sequence length, D head dim.
#include <cstddef>

#include "sinklab/attention/window.hpp"
#include "sinklab/core/error.hpp"

namespace sinklab::attention {

template <class T>
struct AttentionParams {
  int B = 1, H = 1, Hkv = 1, S = 0, D = 0;
  T scale = T(0);  // 0 → the variant's default: 1/√D, or 1 for unit-scale feature kernels
  WindowSpec window{};
  const T* alibi_slopes = nullptr;  // (H) ALiBi slopes; null → the standard geometric slopes
  const T* bucket_table = nullptr;  // (H, 32) relative-bucket bias values; null → the sink paper's bias = bucket

  std::size_t q_size() const { return std::size_t(B) * H * S * D; }
  std::size_t kv_size() const { return std::size_t(B) * Hkv * S * D; }
  std::size_t row_count() const { return std::size_t(B) * H * S; }
  int group() const { return H / Hkv; }
  int keys() const { return S + (window.slot == SlotKind::none ? 0 : 1); }  // columns of the weights map
};

template <class T>
struct Inputs {
  const T* q = nullptr;            // (B, H, S, D)
  const T* k = nullptr;            // (B, Hkv, S, D)
  const T* v = nullptr;            // (B, Hkv, S, D)
  const T* g_in = nullptr;         // (B, H, S)          InGate: scales v_j for query head h
  const T* g_out = nullptr;        // (B, H, S) headwise | (B, H, S, D) elementwise OutGate
  const T* norm_weight = nullptr;  // (D) RMSNorm / LayerNorm, shared across heads
  const T* norm_bias = nullptr;    // (D) LayerNorm
  const T* sink_logit = nullptr;   // (H) RowSumPlusSink<learned>
  const T* k_slot = nullptr;       // (H, D) sink slot key (SlotKind::k or kv)
  const T* v_slot = nullptr;       // (H, D) sink slot value (SlotKind::kv)
  const T* mlp_w1 = nullptr;       // (D, D) Feature<SharedMLP>: φ(x) = W2·relu(W1·x)
  const T* mlp_w2 = nullptr;       // (D, D)
};

// Per-row statistics the backward recomputes from (Note [shifted domain] in normalizer.hpp).
template <class T>
struct Saved {
  T* row_max = nullptr;   // (B, H, S) m_i: running max used for the shift (0 when the variant takes none)
  T* row_sum = nullptr;   // (B, H, S) ℓ'_i: the shifted row mass (ρ_i is recomputed from it)
  T* pre_norm = nullptr;  // (B, H, S, D) ũ_i = a'_i / ρ_i, before gates and the vector stage
  // Optional, feature kernels only: when set, the CPU forward (fused or recurrent) writes φ(q), φ(k) here and the
  // CPU backward reads them instead of mapping q and k again; the shared MLP also keeps its hidden activations
  // relu(W1·x). Pass the same Saved to both calls. Unset (or a score kernel): the backward recomputes them.
  T* q_features = nullptr;  // (B, H, S, D)
  T* k_features = nullptr;  // (B, Hkv, S, D)
  T* q_hidden = nullptr;    // (B, H, S, D), Feature<SharedMLP> only
  T* k_hidden = nullptr;    // (B, Hkv, S, D), Feature<SharedMLP> only
};

template <class T>
struct Outputs {
  T* o = nullptr;  // (B, H, S, D)
  Saved<T> saved{};
};

// Gradients are overwritten (not accumulated). dq, dk, dv are required; the others are required exactly when the
// variant / window has the corresponding input.
template <class T>
struct Grads {
  T* dq = nullptr;            // (B, H, S, D)
  T* dk = nullptr;            // (B, Hkv, S, D)
  T* dv = nullptr;            // (B, Hkv, S, D)
  T* dg_in = nullptr;         // (B, H, S)
  T* dg_out = nullptr;        // like g_out
  T* dnorm_weight = nullptr;  // (D)
  T* dnorm_bias = nullptr;    // (D)
  T* dsink_logit = nullptr;   // (H)
  T* dk_slot = nullptr;       // (H, D)
  T* dv_slot = nullptr;       // (H, D)
  T* dmlp_w1 = nullptr;       // (D, D)
  T* dmlp_w2 = nullptr;       // (D, D)
};

template <class T>
void check_shape(const AttentionParams<T>& p) {
  SINKLAB_CHECK(p.B >= 1 && p.H >= 1 && p.Hkv >= 1 && p.S >= 1 && p.D >= 1, "attention: bad shape B=", p.B, " H=", p.H,
                " Hkv=", p.Hkv, " S=", p.S, " D=", p.D);
  SINKLAB_CHECK(p.H % p.Hkv == 0, "attention: H=", p.H, " is not a multiple of Hkv=", p.Hkv);
  SINKLAB_CHECK(p.D <= 256, "attention: head dim ", p.D, " > 256 is not supported");
}

}  // namespace sinklab::attention
