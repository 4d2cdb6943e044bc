#pragma once
// One transformer block. Pre-norm (LLaMA): x + attn(norm(x)), then x + mlp(norm(x)).
// Post-LN (original Transformer, the sink paper's ablation): norm(x + attn(x)), then norm(x + mlp(x)).
#include <string>

#include "sinklab/nn/config.hpp"
#include "sinklab/nn/mlp.hpp"
#include "sinklab/nn/norm.hpp"
#include "sinklab/nn/self_attention.hpp"

namespace sinklab::nn {

template <class T>
struct ForwardTrace;

template <class T, class D = Cpu>
class Block {
 public:
  Block(const std::string& name, const ModelConfig& cfg, const InitContext& ctx)
      : placement_(cfg.placement),
        attn_norm_(name + ".input_layernorm", cfg.d_model, cfg.norm, cfg.norm_eps),
        attn_(name + ".self_attn", cfg, ctx),
        mlp_norm_(name + ".post_attention_layernorm", cfg.d_model, cfg.norm, cfg.norm_eps),
        mlp_(name + ".mlp", cfg.d_model, cfg.ffn_dim(), cfg.ffn, ctx, cfg.bias) {}

  Var<T, D> operator()(const Var<T, D>& x, ForwardTrace<T>* trace = nullptr) const {
    if (placement_ == NormPlacement::Pre) {
      const Var<T, D> h = autograd::add(x, attn_(attn_norm_(x), trace));
      return autograd::add(h, mlp_(mlp_norm_(h)));
    }
    const Var<T, D> h = attn_norm_(autograd::add(x, attn_(x, trace)));
    return mlp_norm_(autograd::add(h, mlp_(h)));
  }

  void collect(ParamList<T, D>& out) const {
    attn_norm_.collect(out);
    attn_.collect(out);
    mlp_norm_.collect(out);
    mlp_.collect(out);
  }
  const SelfAttention<T, D>& attention() const { return attn_; }

 private:
  NormPlacement placement_;
  Norm<T, D> attn_norm_;
  SelfAttention<T, D> attn_;
  Norm<T, D> mlp_norm_;
  Mlp<T, D> mlp_;
};

}  // namespace sinklab::nn
