#pragma once
// LlamaModel: token embedding → N blocks → final norm → LM head. Every switch of ModelConfig is honoured here:
// FFN kind, norm kind and placement (pre-norm LLaMA or post-LN), positional scheme, grouped-query attention,
// tied head, bias slots and any registered attention variant. Parameter names follow Hugging Face LLaMA.
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "sinklab/nn/block.hpp"
#include "sinklab/nn/config.hpp"

namespace sinklab::nn {

// Optional record of a forward pass for probes: per-layer hidden states and keys/values (after RoPE).
template <class T>
struct ForwardTrace {
  std::vector<Tensor<T>> hidden;  // n_layers + 1 entries: embedding output, then each block's output (B, S, D)
  std::vector<Tensor<T>> keys;    // per layer (B, Hkv, S, Dh)
  std::vector<Tensor<T>> values;  // per layer (B, Hkv, S, Dh)
  std::vector<Tensor<T>> attention;      // per layer (B, H, S, S[+1]) when want_attention: the probe map
  std::vector<Tensor<T>> raw_attention;  // per layer, when want_raw_attention: the raw coefficients κ/ρ
  bool want_attention = false, want_raw_attention = false;
};

// D = Cuda: the whole model on the GPU (Var<float, Cuda>; include sinklab/backend/cuda/tensor_ops.cuh and link
// sinklab::cuda). Parameters start from the same values on every device; forward traces (probes) are CPU-only.
template <class T, class D = Cpu>
class LlamaModel {
 public:
  explicit LlamaModel(ModelConfig cfg) : cfg_(std::move(cfg)) {
    cfg_.validate();
    const InitContext ctx = cfg_.init_context();
    const double emb_std = ctx.scheme == InitScheme::PyTorch ? 1.0 : std::sqrt(2.0 / (5.0 * double(cfg_.d_model)));
    embed_ = make_param<T, D>("model.embed_tokens.weight", {cfg_.vocab_size, cfg_.d_model}, emb_std, ctx);
    if (cfg_.pos == PosKind::Learned)
      pos_embed_ = make_param<T, D>("model.embed_positions.weight", {cfg_.max_seq_len, cfg_.d_model}, emb_std, ctx);
    if (cfg_.pos == PosKind::Sinusoidal) sinusoid_ = on_device<D>(sinusoidal_table<T>(cfg_.max_seq_len, cfg_.d_model));
    for (int64_t l = 0; l < cfg_.n_layers; ++l) blocks_.emplace_back("model.layers." + std::to_string(l), cfg_, ctx);
    if (cfg_.placement == NormPlacement::Pre) final_norm_ = Norm<T, D>("model.norm", cfg_.d_model, cfg_.norm, cfg_.norm_eps);
    if (!cfg_.tie_embeddings) lm_head_ = Linear<T, D>("lm_head", cfg_.d_model, cfg_.vocab_size, ctx);
  }

  const ModelConfig& config() const { return cfg_; }

  // ids (B, S) → logits (B, S, V).
  Var<T, D> forward(const Tensor<int32_t>& ids, ForwardTrace<T>* trace = nullptr) const {
    SINKLAB_CHECK(ids.dim() == 2, "model input ids must be (B, S), got ", to_string(ids.shape()));
    const int64_t S = ids.size(1);
    SINKLAB_CHECK(S <= cfg_.max_seq_len || (cfg_.pos != PosKind::Learned && cfg_.pos != PosKind::Sinusoidal),
                  "sequence length ", S, " exceeds model.max_seq_len ", cfg_.max_seq_len);
    if constexpr (!std::is_same_v<D, Cpu>) {
      SINKLAB_CHECK(!trace, "LlamaModel: forward traces (probes) run on the CPU model; load the weights into one");
    }
    Var<T, D> x = autograd::embedding(embed_, ids);  // (B, S, D)
    if (pos_embed_.defined()) x = autograd::add(x, autograd::slice(pos_embed_, 0, 0, S));
    if (sinusoid_.defined()) x = autograd::add(x, Var<T, D>(sinusoid_.slice(0, 0, S)));
    keep_hidden(trace, x);
    for (const auto& b : blocks_) {
      x = b(x, trace);
      keep_hidden(trace, x);
    }
    if (final_norm_.weight.defined()) x = final_norm_(x);
    return cfg_.tie_embeddings ? autograd::linear(x, embed_) : lm_head_(x);
  }

  // Mean next-token cross-entropy of ids[:, :-1] → ids[:, 1:] style batches: inputs (B, S), targets (B, S).
  Var<T, D> loss(const Tensor<int32_t>& inputs, const Tensor<int32_t>& targets) const {
    const Var<T, D> logits = forward(inputs);
    return autograd::cross_entropy(autograd::reshape(logits, {-1, cfg_.vocab_size}), targets.reshape({-1}));
  }

  ParamList<T, D> parameters() const {
    ParamList<T, D> out;
    out.push_back({embed_.name(), embed_, true});
    if (pos_embed_.defined()) out.push_back({pos_embed_.name(), pos_embed_, true});
    for (const auto& b : blocks_) b.collect(out);
    if (final_norm_.weight.defined()) final_norm_.collect(out);
    if (!cfg_.tie_embeddings) lm_head_.collect(out);
    return out;
  }

  int64_t num_parameters() const {
    int64_t n = 0;
    for (const auto& p : parameters()) n += p.var.numel();
    return n;
  }

  const std::vector<Block<T, D>>& blocks() const { return blocks_; }

 private:
  static void keep_hidden(ForwardTrace<T>* trace, const Var<T, D>& x) {
    if constexpr (std::is_same_v<D, Cpu>) {
      if (trace) trace->hidden.push_back(x.value());
    }
  }

  ModelConfig cfg_;
  Var<T, D> embed_, pos_embed_;
  Tensor<T, D> sinusoid_;
  std::vector<Block<T, D>> blocks_;
  Norm<T, D> final_norm_;
  Linear<T, D> lm_head_;
};

}  // namespace sinklab::nn
