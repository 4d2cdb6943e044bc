#pragma once
// AnyAttention: a type-erased handle, created once from (name, window), holding function pointers to the
// instantiated fused forward/backward, the reference and the probe weights of that variant, for float and double.
// Model code calls it without templates. The instantiations live in the static library `sinklab_attention_instances`
// (src/attention_instances/, split over several TUs); link it to use this header.
//
//     auto attn = AnyAttention<float>::create("softmax_sink", {.mask = MaskKind::sliding, .window = 128});
//     attn.forward(params, inputs, outputs);  // params.window is taken from the handle
#include <algorithm>
#include <cstddef>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#include "sinklab/attention/params.hpp"
#include "sinklab/attention/query_scale.hpp"
#include "sinklab/attention/variants.hpp"
#include "sinklab/attention/weights.hpp"

namespace sinklab::attention {

// What the variant needs from its caller: its tensors beyond q, k, v (Note [parameter lists]; filter them with
// present(spec, window)) and the flags that shape the caller's own work (gate projections, feature caches).
struct VariantTraits {
  std::span<const ParamSpec> params;
  bool in_gate, out_gate, out_gate_elementwise, out_gate_pre_norm;
  bool mlp;
  bool feature_kernel, has_recurrent_form, use_shift, detached_denominator;
  WeightsKind weights;
  std::string_view query_log_scale;  // the key of θ when the kernel scales queries by e^{θ_h} (Note [query scale])
};

template <class T>
struct AttentionOpsT {
  void (*forward)(const AttentionParams<T>&, const Inputs<T>&, Outputs<T>&);
  void (*backward)(const AttentionParams<T>&, const Inputs<T>&, const Saved<T>&, const T*, Grads<T>&);
  void (*reference_forward)(const AttentionParams<T>&, const Inputs<T>&, T*, Saved<T>);
  void (*reference_backward)(const AttentionParams<T>&, const Inputs<T>&, const T*, Grads<T>&);
  void (*weights)(const AttentionParams<T>&, const Inputs<T>&, T*, WeightsMode);
  void (*recurrent_forward)(const AttentionParams<T>&, const Inputs<T>&, Outputs<T>&);  // null: no recurrent form
  void (*recurrent_backward)(const AttentionParams<T>&, const Inputs<T>&, const Saved<T>&, const T*, Grads<T>&);
};

struct AttentionOps {
  VariantTraits traits;
  AttentionOpsT<float> f32;
  AttentionOpsT<double> f64;
};

template <class K>
constexpr std::string_view query_log_scale_key() {
  if constexpr (kernel::ScalesQueries<K>)
    return K::query_log_scale.key;
  else
    return {};
}

template <class V>
constexpr VariantTraits traits_of() {
  using G = typename V::gate;
  using K = typename V::kernel;
  bool mlp = false;
  if constexpr (K::is_feature) mlp = K::phi_type::learnable;
  return {std::span<const ParamSpec>(V::params.data(), V::params.size()),
          G::has_in,
          G::has_out,
          G::out_elementwise,
          G::out_pre_norm,
          mlp,
          K::is_feature,
          V::has_recurrent_form,
          V::use_shift,
          V::detached_denominator,
          weights_kind<V>(),
          query_log_scale_key<K>()};
}

// Ops of registry row `index` (defined in sinklab_attention_instances).
const AttentionOps& attention_ops(std::size_t index);

// Every key some registered variant takes beyond q, k, v, in registry order, each once.
inline std::vector<std::string_view> all_param_keys() {
  std::vector<std::string_view> keys;
  for (std::size_t i = 0; i < variant_count; ++i)
    for (const ParamSpec& s : attention_ops(i).traits.params)
      if (std::find(keys.begin(), keys.end(), s.key) == keys.end()) keys.push_back(s.key);
  return keys;
}

// One handle per dtype (float or double); cheap to copy, the ops table is static.
template <class T>
class AnyAttention {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "AnyAttention<T>: T is float or double");

 public:
  // Throws sinklab::Error with the nearest names for an unknown name.
  static AnyAttention create(std::string_view name, const WindowSpec& window = {}) {
    return AnyAttention(variant_index(name), window);
  }

  const VariantInfo& info() const { return variant_table[index_]; }
  const char* name() const { return info().name; }
  const VariantTraits& traits() const { return ops_->traits; }
  const WindowSpec& window() const { return window_; }
  std::size_t index() const { return index_; }
  // The tensors this handle's calls take beyond q, k, v: the variant's list, less what its window leaves out.
  std::vector<ParamSpec> params() const {
    std::vector<ParamSpec> out;
    for (const ParamSpec& s : traits().params)
      if (present(s, window_)) out.push_back(s);
    return out;
  }

  // In every call p.window is replaced by the handle's window (the handle is the single source of truth).
  void forward(AttentionParams<T> p, const Inputs<T>& in, Outputs<T>& out) const {
    p.window = window_;
    ops().forward(p, in, out);
  }
  void backward(AttentionParams<T> p, const Inputs<T>& in, const Saved<T>& saved, const T* dout, Grads<T>& g) const {
    p.window = window_;
    ops().backward(p, in, saved, dout, g);
  }
  // O(S·d²) chunked recurrence; feature kernels, causal mask, no score bias. Same outputs/saved as forward.
  void recurrent_forward(AttentionParams<T> p, const Inputs<T>& in, Outputs<T>& out) const {
    SINKLAB_CHECK(ops().recurrent_forward, "attention variant '", name(), "' has no recurrent form");
    p.window = window_;
    ops().recurrent_forward(p, in, out);
  }
  // Its backward, O(S·d²) too; takes the Saved statistics of either forward (they are the same).
  void recurrent_backward(AttentionParams<T> p, const Inputs<T>& in, const Saved<T>& saved, const T* dout,
                          Grads<T>& g) const {
    SINKLAB_CHECK(ops().recurrent_backward, "attention variant '", name(), "' has no recurrent form");
    p.window = window_;
    ops().recurrent_backward(p, in, saved, dout, g);
  }
  void reference_forward(AttentionParams<T> p, const Inputs<T>& in, T* o, Saved<T> saved = {}) const {
    p.window = window_;
    ops().reference_forward(p, in, o, saved);
  }
  void reference_backward(AttentionParams<T> p, const Inputs<T>& in, const T* dout, Grads<T>& g) const {
    p.window = window_;
    ops().reference_backward(p, in, dout, g);
  }
  // A (B, H, S, S [+1 with a slot]) as DESIGN §4 defines it, or the raw coefficients κ/ρ (weights.hpp).
  void weights(AttentionParams<T> p, const Inputs<T>& in, T* A, WeightsMode mode = WeightsMode::probe) const {
    p.window = window_;
    ops().weights(p, in, A, mode);
  }

 private:
  AnyAttention(std::size_t index, const WindowSpec& w) : index_(index), window_(w), ops_(&attention_ops(index)) {}
  const AttentionOpsT<T>& ops() const {
    if constexpr (std::is_same_v<T, float>) return ops_->f32;
    else return ops_->f64;
  }
  std::size_t index_;
  WindowSpec window_;
  const AttentionOps* ops_;
};

}  // namespace sinklab::attention
