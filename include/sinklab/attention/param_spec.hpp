#pragma once
// Note [parameter lists]: every tensor an attention variant takes beyond q, k and v is declared by the policy that
// uses it, as a ParamSpec in a `static constexpr std::array params` member: its key, its shape rule, where it comes
// from (a learnable weight the layer owns, or an activation the layer computes per call) and how a layer
// initialises it. Variant joins the lists of its axes (variant.hpp); everything that used to spell the list out
// iterates it instead: the input and gradient checks of both backends, SelfAttention's parameters, the autograd
// op's inputs and gradients, the probe's interop tensors, bench buffers and test fixtures. A policy without a
// `params` member takes nothing.
//
// Inputs and Grads (params.hpp) carry these tensors in a small table keyed by ParamSpec::key; a policy reads its own
// with `in[param]`, once per call.
#include <array>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace sinklab::attention {

// The shape rule, over the call's B, H, S, D.
enum class Extent : unsigned char {
  head,      // (H)
  dim,       // (D), shared across heads
  head_dim,  // (H, D)
  dim_dim,   // (D, D)
  row,       // (B, H, S): one value per query row
  row_dim,   // (B, H, S, D)
};
enum class Source : unsigned char {
  weight,      // a learnable parameter: the layer creates, initialises, checkpoints and optimises it
  activation,  // computed by the layer from its input on every call (the gates); no checkpoint entry
};
enum class Init : unsigned char {
  zeros,
  ones,
  linear,       // as a Linear(D → D) weight (nn/module.hpp's init_linear_weight)
  slot_normal,  // N(0, √(2 / (5·d_model))), the sink paper's bias slots
};
// Present on every call, or only when the runtime window has a sink slot (present() in window.hpp).
enum class Presence : unsigned char { always, key_slot, value_slot };

struct ParamSpec {
  std::string_view key;         // table key and interop tensor name; its gradient is "d" + key
  std::string_view checkpoint;  // name under the layer's prefix (weights); empty for activations
  Extent extent = Extent::head;
  Source source = Source::weight;
  Init init = Init::zeros;
  bool decay = false;  // takes weight decay (matrices do, vectors and scalars do not)
  Presence presence = Presence::always;

  constexpr bool learnable() const { return source == Source::weight; }
  std::vector<int64_t> shape(int64_t B, int64_t H, int64_t S, int64_t D) const {
    switch (extent) {
      case Extent::head: return {H};
      case Extent::dim: return {D};
      case Extent::head_dim: return {H, D};
      case Extent::dim_dim: return {D, D};
      case Extent::row: return {B, H, S};
      case Extent::row_dim: return {B, H, S, D};
    }
    return {};
  }
  std::size_t numel(int64_t B, int64_t H, int64_t S, int64_t D) const {
    std::size_t n = 1;
    for (const int64_t d : shape(B, H, S, D)) n *= std::size_t(d);
    return n;
  }
  // "(B, H, S)" etc., for error messages.
  constexpr std::string_view extent_name() const {
    constexpr std::string_view names[] = {"(H)", "(D)", "(H, D)", "(D, D)", "(B, H, S)", "(B, H, S, D)"};
    return names[static_cast<int>(extent)];
  }
};

// A policy's list: its `params` member, or none.
template <class P>
constexpr auto params_of() {
  if constexpr (requires { P::params; })
    return P::params;
  else
    return std::array<ParamSpec, 0>{};
}

// The lists of several policies, in order; a key may appear once.
template <class... Ps>
constexpr auto join_params() {
  constexpr std::size_t n = (params_of<Ps>().size() + ... + 0);
  std::array<ParamSpec, n> out{};
  std::size_t i = 0;
  ([&] {
    for (const ParamSpec& s : params_of<Ps>()) out[i++] = s;
  }(),
   ...);
  if constexpr (n > 1)
    for (std::size_t a = 0; a + 1 < n; ++a)
      for (std::size_t b = a + 1; b < n; ++b)
        if (out[a].key == out[b].key) throw "attention: two policies of one variant declare the same parameter key";
  return out;
}

// Pointers keyed by ParamSpec::key: what Inputs (const T*) and Grads (T*) carry beyond q, k, v. Fixed capacity, no
// allocation; lookups are a short linear scan, made once per call.
template <class P>
class TensorTable {
 public:
  static constexpr int capacity = 12;

  P operator[](std::string_view key) const {
    for (int i = 0; i < n_; ++i)
      if (keys_[i] == key) return ptrs_[i];
    return nullptr;
  }
  P operator[](const ParamSpec& s) const { return (*this)[s.key]; }
  // Sets (or replaces) `key`; a null pointer stores nothing new.
  void set(std::string_view key, P p) {
    for (int i = 0; i < n_; ++i)
      if (keys_[i] == key) {
        ptrs_[i] = p;
        return;
      }
    if (!p) return;
    if (n_ == capacity) throw std::length_error("attention: more than 12 extra tensors in one call");
    keys_[n_] = key;
    ptrs_[n_++] = p;
  }
  void set(const ParamSpec& s, P p) { set(s.key, p); }
  int size() const { return n_; }
  std::string_view key(int i) const { return keys_[i]; }
  P at(int i) const { return ptrs_[i]; }

 private:
  std::array<std::string_view, capacity> keys_{};
  std::array<P, capacity> ptrs_{};
  int n_ = 0;
};

}  // namespace sinklab::attention
