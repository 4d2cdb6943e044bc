#pragma once
// ModelConfig: every architectural switch of a LLaMA-style LM, with JSON conversion (keys documented in
// `sinklab-pretrain --help`) and the Hugging Face config.json we write beside checkpoints.
#include <nlohmann/json.hpp>
#include <string>

#include "sinklab/core/error.hpp"
#include "sinklab/nn/mlp.hpp"
#include "sinklab/nn/module.hpp"
#include "sinklab/nn/norm.hpp"
#include "sinklab/nn/positional.hpp"

namespace sinklab::nn {

enum class NormPlacement { Pre, Post };
enum class BiasSlot { None, K, KV, V };  // the sink paper's learnable key/value bias slots (§6)

struct ModelConfig {
  int64_t vocab_size = 258;
  int64_t d_model = 128;
  int64_t n_layers = 4;
  int64_t n_heads = 4;
  int64_t n_kv_heads = 0;  // 0: same as n_heads
  int64_t head_dim = 0;    // 0: d_model / n_heads
  int64_t d_ff = 0;        // 0: 8/3·d_model rounded up to a multiple of 64 for gated FFNs, 4·d_model otherwise
  int64_t max_seq_len = 256;
  FfnKind ffn = FfnKind::SwiGLU;
  NormKind norm = NormKind::RMSNorm;
  NormPlacement placement = NormPlacement::Pre;
  double norm_eps = 1e-5;
  PosKind pos = PosKind::RoPE;
  double rope_base = 10000.0;
  bool rope_interleaved = false;  // llama2.c/Meta layout rotates pairs (2i, 2i+1); HF rotates halves
  bool tie_embeddings = false;
  bool bias = false;  // biases in the attention and MLP projections
  std::string attention = "softmax";  // any registry name (sinklab-probe --list-variants)
  std::string window = "causal";      // causal | sliding | prefix | full
  int64_t window_size = 0;            // sliding window w
  int64_t prefix_len = 0;             // prefix-LM p
  BiasSlot slot = BiasSlot::None;
  std::string init = "tinyllama";  // tinyllama | pytorch
  uint64_t seed = 1337;

  int64_t kv_heads() const { return n_kv_heads ? n_kv_heads : n_heads; }
  int64_t hdim() const { return head_dim ? head_dim : d_model / n_heads; }
  int64_t ffn_dim() const {
    if (d_ff) return d_ff;
    if (!is_gated(ffn)) return 4 * d_model;
    const int64_t d = (8 * d_model + 2) / 3;
    return (d + 63) / 64 * 64;
  }
  InitContext init_context() const {
    SINKLAB_CHECK(init == "tinyllama" || init == "pytorch", "model.init: unknown scheme '", init,
                  "' (expected tinyllama or pytorch)");
    return {seed, init == "pytorch" ? InitScheme::PyTorch : InitScheme::TinyLlama, n_layers};
  }
  void validate() const {
    SINKLAB_CHECK(vocab_size > 0 && d_model > 0 && n_layers > 0 && n_heads > 0, "model: sizes must be positive");
    SINKLAB_CHECK(head_dim || d_model % n_heads == 0, "model.d_model (", d_model, ") is not divisible by n_heads (",
                  n_heads, "); set head_dim");
    SINKLAB_CHECK(n_heads % kv_heads() == 0, "model.n_heads (", n_heads, ") must be a multiple of n_kv_heads (",
                  kv_heads(), ")");
    SINKLAB_CHECK(pos != PosKind::RoPE || hdim() % 2 == 0, "RoPE needs an even head_dim, got ", hdim());
    SINKLAB_CHECK(window != "sliding" || window_size > 0, "model.window = sliding needs model.window_size > 0");
    SINKLAB_CHECK(window != "prefix" || prefix_len >= 0, "model.prefix_len must be >= 0");
  }
};

// --- enum <-> string ------------------------------------------------------------------------------
#define SINKLAB_ENUM_JSON(Type, ...) NLOHMANN_JSON_SERIALIZE_ENUM(Type, __VA_ARGS__)
SINKLAB_ENUM_JSON(FfnKind, {{FfnKind::SwiGLU, "swiglu"}, {FfnKind::ReGLU, "reglu"}, {FfnKind::GeGLU, "geglu"},
                            {FfnKind::ReLU, "relu"}, {FfnKind::GELU, "gelu"}, {FfnKind::Swish, "swish"}})
SINKLAB_ENUM_JSON(NormKind, {{NormKind::RMSNorm, "rmsnorm"}, {NormKind::LayerNorm, "layernorm"}})
SINKLAB_ENUM_JSON(NormPlacement, {{NormPlacement::Pre, "pre"}, {NormPlacement::Post, "post"}})
SINKLAB_ENUM_JSON(PosKind, {{PosKind::RoPE, "rope"}, {PosKind::NoPE, "nope"}, {PosKind::Sinusoidal, "sinusoidal"},
                            {PosKind::Learned, "learned"}, {PosKind::ALiBi, "alibi"},
                            {PosKind::RelativeBucket, "relative_bucket"}})
SINKLAB_ENUM_JSON(BiasSlot, {{BiasSlot::None, "none"}, {BiasSlot::K, "k"}, {BiasSlot::KV, "kv"}, {BiasSlot::V, "v"}})

namespace detail {
// nlohmann's enum mapping silently picks the first value for unknown strings; reject those with the key's name.
template <class E>
E parse_enum(const nlohmann::json& j, const char* key, const char* allowed) {
  const E e = j.get<E>();
  SINKLAB_CHECK(nlohmann::json(e) == j, "model.", key, ": unknown value ", j.dump(), " (expected one of ", allowed, ")");
  return e;
}
}  // namespace detail

inline nlohmann::json to_json(const ModelConfig& c) {
  return {{"vocab_size", c.vocab_size}, {"d_model", c.d_model},     {"n_layers", c.n_layers},
          {"n_heads", c.n_heads},       {"n_kv_heads", c.n_kv_heads}, {"head_dim", c.head_dim},
          {"d_ff", c.d_ff},             {"max_seq_len", c.max_seq_len}, {"ffn", c.ffn},
          {"norm", c.norm},             {"placement", c.placement}, {"norm_eps", c.norm_eps},
          {"pos", c.pos},               {"rope_base", c.rope_base}, {"rope_interleaved", c.rope_interleaved},
          {"tie_embeddings", c.tie_embeddings}, {"bias", c.bias},   {"attention", c.attention},
          {"window", c.window},         {"window_size", c.window_size}, {"prefix_len", c.prefix_len},
          {"slot", c.slot},             {"init", c.init},           {"seed", c.seed}};
}

// Reads a complete model object (as produced by to_json, possibly with fewer keys); unknown keys are the
// caller's check (io::check_keys), values are validated here with the key's name.
inline ModelConfig model_config_from_json(const nlohmann::json& j) {
  ModelConfig c;
  auto get = [&](const char* key, auto& field) {
    if (!j.contains(key)) return;
    try {
      j.at(key).get_to(field);
    } catch (const nlohmann::json::exception& e) {
      SINKLAB_FAIL("model.", key, ": ", j.at(key).dump(), " has the wrong type (", e.what(), ")");
    }
  };
  get("vocab_size", c.vocab_size);
  get("d_model", c.d_model);
  get("n_layers", c.n_layers);
  get("n_heads", c.n_heads);
  get("n_kv_heads", c.n_kv_heads);
  get("head_dim", c.head_dim);
  get("d_ff", c.d_ff);
  get("max_seq_len", c.max_seq_len);
  get("norm_eps", c.norm_eps);
  get("rope_base", c.rope_base);
  get("rope_interleaved", c.rope_interleaved);
  get("tie_embeddings", c.tie_embeddings);
  get("bias", c.bias);
  get("attention", c.attention);
  get("window", c.window);
  get("window_size", c.window_size);
  get("prefix_len", c.prefix_len);
  get("init", c.init);
  get("seed", c.seed);
  if (j.contains("ffn")) c.ffn = detail::parse_enum<FfnKind>(j["ffn"], "ffn", "swiglu, reglu, geglu, relu, gelu, swish");
  if (j.contains("norm")) c.norm = detail::parse_enum<NormKind>(j["norm"], "norm", "rmsnorm, layernorm");
  if (j.contains("placement"))
    c.placement = detail::parse_enum<NormPlacement>(j["placement"], "placement", "pre, post");
  if (j.contains("pos"))
    c.pos = detail::parse_enum<PosKind>(j["pos"], "pos", "rope, nope, sinusoidal, learned, alibi, relative_bucket");
  if (j.contains("slot")) c.slot = detail::parse_enum<BiasSlot>(j["slot"], "slot", "none, k, kv, v");
  SINKLAB_CHECK(c.window == "causal" || c.window == "sliding" || c.window == "prefix" || c.window == "full",
                "model.window: unknown value '", c.window, "' (expected causal, sliding, prefix or full)");
  c.validate();
  return c;
}

// Hugging Face LlamaConfig for plain softmax/RoPE/RMSNorm/SwiGLU models (other models get the same keys plus
// "sinklab" so our loader can rebuild them; transformers would not know their attention).
inline nlohmann::json hf_config_json(const ModelConfig& c) {
  return {{"architectures", {"LlamaForCausalLM"}},
          {"model_type", "llama"},
          {"vocab_size", c.vocab_size},
          {"hidden_size", c.d_model},
          {"intermediate_size", c.ffn_dim()},
          {"num_hidden_layers", c.n_layers},
          {"num_attention_heads", c.n_heads},
          {"num_key_value_heads", c.kv_heads()},
          {"head_dim", c.hdim()},
          {"max_position_embeddings", c.max_seq_len},
          {"rms_norm_eps", c.norm_eps},
          {"rope_theta", c.rope_base},
          {"hidden_act", "silu"},
          {"attention_bias", c.bias},
          {"mlp_bias", c.bias},
          {"tie_word_embeddings", c.tie_embeddings},
          {"torch_dtype", "float32"},
          {"sinklab", to_json(c)}};
}

}  // namespace sinklab::nn
