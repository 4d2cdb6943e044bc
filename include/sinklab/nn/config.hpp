#pragma once
// ModelConfig: every architectural switch of a LLaMA-style LM, with its value rules (validate), strict JSON
// conversion (keys documented in `sinklab-pretrain --help`) and the Hugging Face config.json we write beside
// checkpoints. Reads the JSON helpers of io/strict_parse.hpp and io/nearest.hpp, which depend on core alone.
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sinklab/core/error.hpp"
#include "sinklab/io/nearest.hpp"
#include "sinklab/io/strict_parse.hpp"
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
  // Upper bounds far above any published model, so that a typo or a corrupt file is refused before anything is
  // allocated (and every product of sizes below stays far from int64 overflow).
  static constexpr int64_t kMaxVocab = std::numeric_limits<int32_t>::max();  // token ids are int32
  static constexpr int64_t kMaxWidth = int64_t(1) << 20;                     // d_model, head_dim, d_ff
  static constexpr int64_t kMaxLayers = int64_t(1) << 12;                    // n_layers
  static constexpr int64_t kMaxHeads = int64_t(1) << 14;                     // n_heads, n_kv_heads
  static constexpr int64_t kMaxSeqLen = int64_t(1) << 24;                    // max_seq_len
  static constexpr double kMaxElements = 0x1p40;                             // parameters + position table, about 10^12

  InitContext init_context() const {
    SINKLAB_CHECK(init == "tinyllama" || init == "pytorch", "model.init: unknown scheme '", init,
                  "' (expected tinyllama or pytorch)");
    return {seed, init == "pytorch" ? InitScheme::PyTorch : InitScheme::TinyLlama, n_layers};
  }

  // Elements the model holds in its parameters and position table, in double so that no size can overflow it.
  double element_count() const {
    const double D = double(d_model), V = double(vocab_size), L = double(n_layers), Hd = double(n_heads * hdim()),
                 KVd = double(kv_heads() * hdim()), F = double(ffn_dim());
    const double per_layer = D * Hd * 2 + D * KVd * 2 + D * F * (is_gated(ffn) ? 3 : 2) + 4 * D;
    const double table = pos == PosKind::Learned || pos == PosKind::Sinusoidal ? double(max_seq_len) * D : 0.0;
    return V * D * (tie_embeddings ? 1 : 2) + L * per_layer + table + D;
  }

  // Every value rule; `where` prefixes each key in errors ("model." for a run config, "<file>: sinklab." for a
  // checkpoint's config.json).
  void validate(const std::string& where = "model.") const {
    auto in_range = [&](const char* key, int64_t v, int64_t lo, int64_t hi) {
      SINKLAB_CHECK(v >= lo && v <= hi, where, key, ": ", v, " is out of range [", lo, ", ", hi, "]");
    };
    in_range("vocab_size", vocab_size, 1, kMaxVocab);
    in_range("d_model", d_model, 1, kMaxWidth);
    in_range("n_layers", n_layers, 1, kMaxLayers);
    in_range("n_heads", n_heads, 1, kMaxHeads);
    in_range("n_kv_heads", n_kv_heads, 0, n_heads);
    in_range("head_dim", head_dim, 0, kMaxWidth);
    in_range("d_ff", d_ff, 0, kMaxWidth);
    in_range("max_seq_len", max_seq_len, 1, kMaxSeqLen);
    in_range("window_size", window_size, 0, std::numeric_limits<int32_t>::max());
    in_range("prefix_len", prefix_len, 0, std::numeric_limits<int32_t>::max());
    SINKLAB_CHECK(seed <= uint64_t(std::numeric_limits<int64_t>::max()), where, "seed: ", seed,
                  " is out of range [0, 2^63 - 1]");
    SINKLAB_CHECK(head_dim || d_model % n_heads == 0, where, "d_model (", d_model, ") is not divisible by n_heads (",
                  n_heads, "); set head_dim");
    SINKLAB_CHECK(n_heads % kv_heads() == 0, where, "n_heads (", n_heads, ") must be a multiple of n_kv_heads (",
                  kv_heads(), ")");
    SINKLAB_CHECK(pos != PosKind::RoPE || hdim() % 2 == 0, where, "head_dim: RoPE needs an even head_dim, got ",
                  hdim());
    SINKLAB_CHECK(std::isfinite(norm_eps) && norm_eps > 0, where, "norm_eps: ", norm_eps, " must be finite and > 0");
    SINKLAB_CHECK(std::isfinite(rope_base) && rope_base > 0, where, "rope_base: ", rope_base,
                  " must be finite and > 0");
    SINKLAB_CHECK(!attention.empty(), where, "attention: empty name (see sinklab-probe --list-variants)");
    SINKLAB_CHECK(window == "causal" || window == "sliding" || window == "prefix" || window == "full", where,
                  "window: unknown value '", window, "' (expected causal, sliding, prefix or full)");
    SINKLAB_CHECK(window != "sliding" || window_size > 0, where, "window = sliding needs ", where, "window_size > 0");
    SINKLAB_CHECK(init == "tinyllama" || init == "pytorch", where, "init: unknown scheme '", init,
                  "' (expected tinyllama or pytorch)");
    SINKLAB_CHECK(element_count() <= kMaxElements, where, "sizes: ", element_count(),
                  " parameters and table entries (vocab_size ", vocab_size, ", d_model ", d_model, ", n_layers ",
                  n_layers, ", d_ff ", ffn_dim(), ", max_seq_len ", max_seq_len, ") exceed the limit of 2^40");
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
E parse_enum(const nlohmann::json& j, const std::string& key, const char* allowed) {
  const std::string s = io::string_from_json(j, key);
  const E e = nlohmann::json(s).get<E>();
  SINKLAB_CHECK(nlohmann::json(e) == s, key, ": unknown value '", s, "' (expected one of ", allowed, ")");
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

// Reads a model object as to_json writes it. Type rules live here: every key must be known (the error suggests the
// nearest), integers must be JSON integers (no 4.0, no true), strings strings, booleans booleans; vocab_size,
// d_model, n_layers and n_heads are required, the other keys default as in ModelConfig. Value rules are
// ModelConfig::validate's. `where` prefixes each key in errors ("model." in a run config; a checkpoint's loader
// passes "<file>: sinklab.").
inline ModelConfig model_config_from_json(const nlohmann::json& j, const std::string& where = "model.") {
  SINKLAB_CHECK(j.is_object(), where.substr(0, where.find_last_not_of('.') + 1),
                ": expected an object of model settings, got ", io::json_type_name(j));
  const nlohmann::json known = to_json(ModelConfig{});
  for (const auto& [key, _] : j.items()) {
    if (key == "_comment" || known.contains(key)) continue;  // _comment: free text, as in run configs
    std::vector<std::string> names;
    for (const auto& [k, _v] : known.items()) names.push_back(k);
    SINKLAB_FAIL("unknown key '", where, key, "'", io::did_you_mean(names, key));
  }
  for (const char* key : {"vocab_size", "d_model", "n_layers", "n_heads"})
    SINKLAB_CHECK(j.contains(key), where, key, ": missing (required)");
  ModelConfig c;
  auto key = [&](const char* k) { return where + k; };
  auto integer = [&](const char* k, int64_t& field) {
    if (j.contains(k)) field = io::int_from_json(j[k], key(k));
  };
  auto number = [&](const char* k, double& field) {
    if (j.contains(k)) field = io::number_from_json(j[k], key(k));
  };
  auto boolean = [&](const char* k, bool& field) {
    if (j.contains(k)) field = io::bool_from_json(j[k], key(k));
  };
  auto string = [&](const char* k, std::string& field) {
    if (j.contains(k)) field = io::string_from_json(j[k], key(k));
  };
  integer("vocab_size", c.vocab_size);
  integer("d_model", c.d_model);
  integer("n_layers", c.n_layers);
  integer("n_heads", c.n_heads);
  integer("n_kv_heads", c.n_kv_heads);
  integer("head_dim", c.head_dim);
  integer("d_ff", c.d_ff);
  integer("max_seq_len", c.max_seq_len);
  number("norm_eps", c.norm_eps);
  number("rope_base", c.rope_base);
  boolean("rope_interleaved", c.rope_interleaved);
  boolean("tie_embeddings", c.tie_embeddings);
  boolean("bias", c.bias);
  string("attention", c.attention);
  string("window", c.window);
  integer("window_size", c.window_size);
  integer("prefix_len", c.prefix_len);
  string("init", c.init);
  if (j.contains("seed")) c.seed = static_cast<uint64_t>(io::int_from_json(j["seed"], key("seed"), 0));
  if (j.contains("ffn"))
    c.ffn = detail::parse_enum<FfnKind>(j["ffn"], key("ffn"), "swiglu, reglu, geglu, relu, gelu, swish");
  if (j.contains("norm")) c.norm = detail::parse_enum<NormKind>(j["norm"], key("norm"), "rmsnorm, layernorm");
  if (j.contains("placement"))
    c.placement = detail::parse_enum<NormPlacement>(j["placement"], key("placement"), "pre, post");
  if (j.contains("pos"))
    c.pos =
        detail::parse_enum<PosKind>(j["pos"], key("pos"), "rope, nope, sinusoidal, learned, alibi, relative_bucket");
  if (j.contains("slot")) c.slot = detail::parse_enum<BiasSlot>(j["slot"], key("slot"), "none, k, kv, v");
  c.validate(where);
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
