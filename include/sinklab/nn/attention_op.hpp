#pragma once
// The fused attention op as an autograd node. Forward and backward are the type-erased entry points of one
// registry instantiation (attention::AnyAttention), chosen once when the layer is built; this file only moves
// Var values into the pointer structs of attention/params.hpp and gradients back out.
#include <source_location>
#include <vector>

#include "sinklab/attention.hpp"
#include "sinklab/autograd.hpp"

namespace sinklab::nn {

using autograd::Var;

// Every tensor the op may consume; undefined Vars are absent inputs.
template <class T>
struct AttentionVars {
  Var<T> q, k, v;                // (B, H, S, D), (B, Hkv, S, D), (B, Hkv, S, D)
  Var<T> g_in, g_out;            // (B, H, S); (B, H, S) or (B, H, S, D)
  Var<T> norm_weight, norm_bias; // (D)
  Var<T> sink_logit;             // (H)
  Var<T> k_slot, v_slot;         // (H, D)
  Var<T> mlp_w1, mlp_w2;         // (D, D)
};

namespace detail {
template <class T>
const T* ptr(const Tensor<T>& t) { return t.defined() ? t.data() : nullptr; }

// Contiguous values of every present input, kept alive by the backward closure.
template <class T>
struct AttentionValues {
  Tensor<T> q, k, v, g_in, g_out, norm_weight, norm_bias, sink_logit, k_slot, v_slot, mlp_w1, mlp_w2;
  explicit AttentionValues(const AttentionVars<T>& a) {
    auto c = [](const Var<T>& x) { return x.defined() ? x.value().contiguous() : Tensor<T>(); };
    q = c(a.q), k = c(a.k), v = c(a.v), g_in = c(a.g_in), g_out = c(a.g_out), norm_weight = c(a.norm_weight),
    norm_bias = c(a.norm_bias), sink_logit = c(a.sink_logit), k_slot = c(a.k_slot), v_slot = c(a.v_slot),
    mlp_w1 = c(a.mlp_w1), mlp_w2 = c(a.mlp_w2);
  }
  attention::Inputs<T> inputs() const {
    return {ptr(q),         ptr(k),          ptr(v),      ptr(g_in),   ptr(g_out),  ptr(norm_weight),
            ptr(norm_bias), ptr(sink_logit), ptr(k_slot), ptr(v_slot), ptr(mlp_w1), ptr(mlp_w2)};
  }
};

template <class T>
std::vector<Var<T>> present(const AttentionVars<T>& a) {
  std::vector<Var<T>> out;
  for (const Var<T>* v : {&a.q, &a.k, &a.v, &a.g_in, &a.g_out, &a.norm_weight, &a.norm_bias, &a.sink_logit, &a.k_slot,
                          &a.v_slot, &a.mlp_w1, &a.mlp_w2})
    if (v->defined()) out.push_back(*v);
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
        Tensor<T> dq = grad_for(in.q), dk = grad_for(in.k), dv = grad_for(in.v), dg_in = grad_for(in.g_in),
                  dg_out = grad_for(in.g_out), dnw = grad_for(in.norm_weight), dnb = grad_for(in.norm_bias),
                  dsink = grad_for(in.sink_logit), dks = grad_for(in.k_slot), dvs = grad_for(in.v_slot),
                  dw1 = grad_for(in.mlp_w1), dw2 = grad_for(in.mlp_w2);
        auto p = [](Tensor<T>& t) { return t.defined() ? t.data() : nullptr; };
        attention::Grads<T> grads{p(dq), p(dk), p(dv), p(dg_in), p(dg_out), p(dnw), p(dnb), p(dsink), p(dks), p(dvs),
                                  p(dw1), p(dw2)};
        opp->backward(params, vals->inputs(), saved_of(), dout.data(), grads);
        const std::pair<const Var<T>*, Tensor<T>*> pairs[] = {
            {&in.q, &dq},         {&in.k, &dk},          {&in.v, &dv},     {&in.g_in, &dg_in},
            {&in.g_out, &dg_out}, {&in.norm_weight, &dnw}, {&in.norm_bias, &dnb}, {&in.sink_logit, &dsink},
            {&in.k_slot, &dks},   {&in.v_slot, &dvs},    {&in.mlp_w1, &dw1}, {&in.mlp_w2, &dw2}};
        for (const auto& [var, grad] : pairs)
          if (var->defined()) autograd::accumulate(*var, *grad);
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
