#pragma once
// Plain structs of pointers + sizes passed to every attention entry point (fused, reference, weights, AnyAttention).
// Everything is contiguous row-major; B batch, H query heads, Hkv key/value heads (H % Hkv == 0; query head h uses
// kv head h / (H / Hkv)), S sequence length, D head dim.
#include <array>
#include <cstddef>

#include "sinklab/attention/param_spec.hpp"
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

// q, k, v and the variant's own tensors (Note [parameter lists] in param_spec.hpp), e.g.
//     in.set(param::sink_logit, sinks);   // (H), RowSumPlusSink<learned>
// Which keys a variant needs, and their shapes: Variant::params, or AnyAttention::params() at run time.
template <class T>
struct Inputs {
  const T* q = nullptr;  // (B, H, S, D)
  const T* k = nullptr;  // (B, Hkv, S, D)
  const T* v = nullptr;  // (B, Hkv, S, D)
  TensorTable<const T*> extra{};

  const T* operator[](const ParamSpec& s) const { return extra[s]; }
  void set(const ParamSpec& s, const T* p) { extra.set(s, p); }
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

// Gradients are overwritten (not accumulated). dq, dk, dv are required, and so is the gradient of every tensor in
// the variant's list that is present for the call's window, under the same key as its input.
template <class T>
struct Grads {
  T* dq = nullptr;  // (B, H, S, D)
  T* dk = nullptr;  // (B, Hkv, S, D)
  T* dv = nullptr;  // (B, Hkv, S, D)
  TensorTable<T*> extra{};

  T* operator[](const ParamSpec& s) const { return extra[s]; }
  void set(const ParamSpec& s, T* p) { extra.set(s, p); }
};

template <class T>
void check_shape(const AttentionParams<T>& p) {
  SINKLAB_CHECK(p.B >= 1 && p.H >= 1 && p.Hkv >= 1 && p.S >= 1 && p.D >= 1, "attention: bad shape B=", p.B, " H=", p.H,
                " Hkv=", p.Hkv, " S=", p.S, " D=", p.D);
  SINKLAB_CHECK(p.H % p.Hkv == 0, "attention: H=", p.H, " is not a multiple of Hkv=", p.Hkv);
  SINKLAB_CHECK(p.D <= 256, "attention: head dim ", p.D, " > 256 is not supported");
}

// Every tensor of the variant's list that the call's window uses must be given, and (check_grads) have a gradient
// buffer: one loop over the list for both backends (`who` names the entry point in the message).
template <class T, std::size_t N>
void check_inputs(const std::array<ParamSpec, N>& specs, const AttentionParams<T>& p, const Inputs<T>& in,
                  const char* who) {
  SINKLAB_CHECK(in.q && in.k && in.v, who, ": q, k and v are required");
  for (const ParamSpec& s : specs)
    if (present(s, p.window))
      SINKLAB_CHECK(in[s], who, ": this variant needs tensor '", s.key, "' ", s.extent_name(),
                    s.presence == Presence::always ? "" : " (its window has a sink slot)");
}
template <class T, std::size_t N>
void check_grads(const std::array<ParamSpec, N>& specs, const AttentionParams<T>& p, const Grads<T>& g,
                 const char* who) {
  SINKLAB_CHECK(g.dq && g.dk && g.dv, who, ": dq, dk and dv are required");
  for (const ParamSpec& s : specs)
    if (present(s, p.window))
      SINKLAB_CHECK(g[s], who, ": the gradient of '", s.key, "' ", s.extent_name(), " is required",
                    s.presence == Presence::always ? "" : " (its window has a sink slot)");
}

}  // namespace sinklab::attention
