#pragma once
// The fused attention op as an autograd node. Forward and backward are the type-erased entry points of one
// registry instantiation (attention::AnyAttention), chosen once when the layer is built; this file only moves
// Var values into the pointer structs of attention/params.hpp and gradients back out.
#include <source_location>
#include <utility>
#include <vector>

#include "sinklab/attention.hpp"
#include "sinklab/autograd.hpp"

namespace sinklab::nn {

using autograd::Var;

// Every tensor the op consumes: q, k, v and the variant's own (Note [parameter lists] in
// attention/param_spec.hpp), in the order of its list; the layer fills `extra` by iterating op.params().
template <class T>
struct AttentionVars {
  Var<T> q, k, v;  // (B, H, S, D), (B, Hkv, S, D), (B, Hkv, S, D)
  std::vector<std::pair<attention::ParamSpec, Var<T>>> extra;
};

namespace detail {
template <class T>
const T* ptr(const Tensor<T>& t) { return t.defined() ? t.data() : nullptr; }

// Contiguous values of every input, kept alive by the backward closure.
template <class T>
struct AttentionValues {
  Tensor<T> q, k, v;
  std::vector<std::pair<attention::ParamSpec, Tensor<T>>> extra;
  explicit AttentionValues(const AttentionVars<T>& a) {
    auto c = [](const Var<T>& x) { return x.defined() ? x.value().contiguous() : Tensor<T>(); };
    q = c(a.q), k = c(a.k), v = c(a.v);
    for (const auto& [spec, var] : a.extra) extra.emplace_back(spec, c(var));
  }
  attention::Inputs<T> inputs() const {
    attention::Inputs<T> in{ptr(q), ptr(k), ptr(v)};
    for (const auto& [spec, t] : extra) in.set(spec, ptr(t));
    return in;
  }
};

template <class T>
std::vector<Var<T>> present(const AttentionVars<T>& a) {
  std::vector<Var<T>> out;
  for (const Var<T>* v : {&a.q, &a.k, &a.v})
    if (v->defined()) out.push_back(*v);
  for (const auto& [spec, var] : a.extra)
    if (var.defined()) out.push_back(var);
  return out;
}
}  // namespace detail

// o (B, H, S, D) = attention(q, k, v, ...) under `op`'s variant and window.
template <class T>
Var<T> fused_attention(const attention::AnyAttention<T>& op, const attention::AttentionParams<T>& params,
                       const AttentionVars<T>& in, std::source_location loc = std::source_location::current()) {
  auto vals = std::make_shared<detail::AttentionValues<T>>(in);
  const int64_t B = params.B, H = params.H, S = params.S, D = params.D;
  Tensor<T> o({B, H, S, D});
  auto row_max = std::make_shared<Tensor<T>>(Shape{B, H, S});
  auto row_sum = std::make_shared<Tensor<T>>(Shape{B, H, S});
  auto pre_norm = std::make_shared<Tensor<T>>(Shape{B, H, S, D});
  // Feature kernels keep φ(q), φ(k) (and the shared MLP's hidden activations) for the backward: one mapping less,
  // for up to 4 more (B, H, S, D) tensors while the graph lives.
  auto features = std::make_shared<std::vector<Tensor<T>>>();
  const auto& tr = op.traits();
  const int n_features = tr.feature_kernel ? (tr.mlp ? 4 : 2) : 0;
  // in Saved's order: q_features, k_features, q_hidden, k_hidden (k rows have Hkv heads)
  for (int f = 0; f < n_features; ++f) features->emplace_back(Shape{B, f % 2 ? params.Hkv : H, S, D});
  auto saved_of = [row_max, row_sum, pre_norm, features] {
    attention::Saved<T> sv{row_max->data(), row_sum->data(), pre_norm->data()};
    T** slots[] = {&sv.q_features, &sv.k_features, &sv.q_hidden, &sv.k_hidden};
    for (std::size_t f = 0; f < features->size(); ++f) *slots[f] = (*features)[f].data();
    return sv;
  };
  attention::Outputs<T> out{o.data(), saved_of()};
  op.forward(params, vals->inputs(), out);
  const attention::AnyAttention<T>* opp = &op;  // registry handles are long-lived (owned by the layer)
  return autograd::make_result<T>(
      op.name(), o, detail::present(in),
      [opp, params, in, vals, saved_of](const Tensor<T>& g) {
        const Tensor<T> dout = g.contiguous();
        auto grad_for = [](const Var<T>& v) { return v.defined() ? Tensor<T>(v.shape()) : Tensor<T>(); };
        auto p = [](Tensor<T>& t) { return t.defined() ? t.data() : nullptr; };
        Tensor<T> dq = grad_for(in.q), dk = grad_for(in.k), dv = grad_for(in.v);
        std::vector<Tensor<T>> dextra;
        for (const auto& e : in.extra) dextra.push_back(grad_for(e.second));
        attention::Grads<T> grads{p(dq), p(dk), p(dv)};
        for (std::size_t i = 0; i < dextra.size(); ++i) grads.set(in.extra[i].first, p(dextra[i]));
        opp->backward(params, vals->inputs(), saved_of(), dout.data(), grads);
        for (const auto& [var, grad] : {std::pair{&in.q, &dq}, std::pair{&in.k, &dk}, std::pair{&in.v, &dv}})
          if (var->defined()) autograd::accumulate(*var, *grad);
        for (std::size_t i = 0; i < dextra.size(); ++i)
          if (in.extra[i].second.defined()) autograd::accumulate(in.extra[i].second, dextra[i]);
      },
      loc);
}

// Attention weights (or the sink paper's proxy weights; or the raw coefficients κ/ρ) for probes: (B, H, S, S[+1]);
// no gradient.
template <class T>
Tensor<T> attention_weights(const attention::AnyAttention<T>& op, const attention::AttentionParams<T>& params,
                            const AttentionVars<T>& in,
                            attention::WeightsMode mode = attention::WeightsMode::probe) {
  const detail::AttentionValues<T> vals(in);
  Tensor<T> w({params.B, params.H, params.S, params.keys()});
  op.weights(params, vals.inputs(), w.data(), mode);
  return w;
}

}  // namespace sinklab::nn
