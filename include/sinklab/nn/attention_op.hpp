#pragma once
// The fused attention op as an autograd node. Forward and backward are the type-erased entry points of one
// registry instantiation, chosen once when the layer is built: attention::AnyAttention on the CPU,
// attention::AnyAttentionCuda on a GPU (Var<float, Cuda>). This file only moves Var values into the pointer
// structs of attention/params.hpp and gradients back out; the pointers are the tensors' own, on either device.
#include <source_location>
#include <utility>
#include <vector>

#include "sinklab/attention.hpp"
#include "sinklab/attention/any_attention_cuda.hpp"
#include "sinklab/autograd.hpp"

namespace sinklab::nn {

using autograd::Var;

// Every tensor the op consumes: q, k, v and the variant's own (Note [parameter lists] in
// attention/param_spec.hpp), in the order of its list; the layer fills `extra` by iterating op.params().
template <class T, class D = Cpu>
struct AttentionVars {
  Var<T, D> q, k, v;  // (B, H, S, D), (B, Hkv, S, D), (B, Hkv, S, D)
  std::vector<std::pair<attention::ParamSpec, Var<T, D>>> extra;
};

namespace detail {
template <class T, class D>
const T* ptr(const Tensor<T, D>& t) { return t.defined() ? t.data() : nullptr; }

// Contiguous values of every input, kept alive by the backward closure.
template <class T, class D>
struct AttentionValues {
  Tensor<T, D> q, k, v;
  std::vector<std::pair<attention::ParamSpec, Tensor<T, D>>> extra;
  explicit AttentionValues(const AttentionVars<T, D>& a) {
    auto c = [](const Var<T, D>& x) { return x.defined() ? x.value().contiguous() : Tensor<T, D>(); };
    q = c(a.q), k = c(a.k), v = c(a.v);
    for (const auto& [spec, var] : a.extra) extra.emplace_back(spec, c(var));
  }
  attention::Inputs<T> inputs() const {
    attention::Inputs<T> in{ptr(q), ptr(k), ptr(v)};
    for (const auto& [spec, t] : extra) in.set(spec, ptr(t));
    return in;
  }
};

template <class T, class D>
std::vector<Var<T, D>> present(const AttentionVars<T, D>& a) {
  std::vector<Var<T, D>> out;
  for (const Var<T, D>* v : {&a.q, &a.k, &a.v})
    if (v->defined()) out.push_back(*v);
  for (const auto& [spec, var] : a.extra)
    if (var.defined()) out.push_back(var);
  return out;
}
}  // namespace detail

// o (B, H, S, D) = attention(q, k, v, ...) under `op`'s variant and window. Op is attention::AnyAttention<T>
// (CPU) or attention::AnyAttentionCuda (Var<float, Cuda>); `traits` is its variant's (which saved tensors exist).
template <class T, class D, class Op>
Var<T, D> fused_attention(const Op& op, const attention::VariantTraits& tr, const attention::AttentionParams<T>& params,
                          const AttentionVars<T, D>& in, std::source_location loc = std::source_location::current()) {
  using Ops = autograd::TensorOps<D>;
  auto vals = std::make_shared<detail::AttentionValues<T, D>>(in);
  const int64_t B = params.B, H = params.H, S = params.S, Dh = params.D;
  Tensor<T, D> o = Ops::template zeros<T>({B, H, S, Dh});
  auto row_max = std::make_shared<Tensor<T, D>>(Ops::template zeros<T>({B, H, S}));
  auto row_sum = std::make_shared<Tensor<T, D>>(Ops::template zeros<T>({B, H, S}));
  auto pre_norm = std::make_shared<Tensor<T, D>>(Ops::template zeros<T>({B, H, S, Dh}));
  auto features = std::make_shared<std::vector<Tensor<T, D>>>();
  const int n_features = tr.feature_kernel ? (tr.mlp ? 4 : 2) : 0;
  for (int f = 0; f < n_features; ++f) features->push_back(Ops::template zeros<T>({B, f % 2 ? params.Hkv : H, S, Dh}));
  auto saved_of = [row_max, row_sum, pre_norm, features] {
    attention::Saved<T> sv{row_max->data(), row_sum->data(), pre_norm->data()};
    T** slots[] = {&sv.q_features, &sv.k_features, &sv.q_hidden, &sv.k_hidden};
    for (std::size_t f = 0; f < features->size(); ++f) *slots[f] = (*features)[f].data();
    return sv;
  };
  attention::Outputs<T> out{o.data(), saved_of()};
  op.forward(params, vals->inputs(), out);
  const Op* opp = &op;  // registry handles are long-lived (owned by the layer)
  return autograd::make_result<T>(
      op.name(), o, detail::present(in),
      [opp, params, in, vals, saved_of](const Tensor<T, D>& g) {
        const Tensor<T, D> dout = g.contiguous();
        auto grad_for = [](const Var<T, D>& v) { return v.defined() ? Ops::template zeros<T>(v.shape()) : Tensor<T, D>(); };
        auto p = [](Tensor<T, D>& t) { return t.defined() ? t.data() : nullptr; };
        Tensor<T, D> dq = grad_for(in.q), dk = grad_for(in.k), dv = grad_for(in.v);
        std::vector<Tensor<T, D>> dextra;
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

template <class T>
Var<T> fused_attention(const attention::AnyAttention<T>& op, const attention::AttentionParams<T>& params,
                       const AttentionVars<T>& in, std::source_location loc = std::source_location::current()) {
  return fused_attention(op, op.traits(), params, in, loc);
}

// Attention weights (or the sink paper's proxy weights; or the raw coefficients κ/ρ) for probes: (B, H, S, S[+1]);
// no gradient.
template <class T>
Tensor<T> attention_weights(const attention::AnyAttention<T>& op, const attention::AttentionParams<T>& params,
                            const AttentionVars<T>& in,
                            attention::WeightsMode mode = attention::WeightsMode::probe) {
  const detail::AttentionValues<T, Cpu> vals(in);
  Tensor<T> w({params.B, params.H, params.S, params.keys()});
  op.weights(params, vals.inputs(), w.data(), mode);
  return w;
}

}  // namespace sinklab::nn
