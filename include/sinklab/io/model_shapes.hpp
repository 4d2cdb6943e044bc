#pragma once
// A model's sizes checked against its weights file before the model is built. Every tensor that an nn::LlamaModel
// of the config holds whatever its attention variant (embeddings, each layer's norms, projections and MLP, the
// final norm, the LM head) must be in the safetensors header with exactly the shape the config implies and a float
// dtype, and the file must hold exactly n_layers layers. Only then is allocating the model justified by the file:
// a config.json that says n_layers 1000000000 or a header that claims a 10^6 x 10^6 embedding fails here, and the
// error names the file, the key and the tensor. The variant's own tensors (gates, sink logits, attention norms,
// slots, feature MLP) are smaller than the projections beside them; nn::load_state_dict checks them by name and
// shape once the model exists.
// Not in the io.hpp umbrella: this header depends on nn::ModelConfig, and io.hpp stays free of the tensor types.
#include <charconv>
#include <filesystem>
#include <string>

#include "sinklab/io/safetensors.hpp"
#include "sinklab/io/strict_parse.hpp"
#include "sinklab/nn/config.hpp"

namespace sinklab::io {

// Calls f(name, shape) for every tensor that an nn::LlamaModel of `c` holds in every variant, under the names
// LlamaModel::parameters() gives them (Hugging Face LLaMA's). Layers come one at a time, so a caller that throws
// at the first mismatch never walks a billion layers.
template <class F>
void for_each_core_tensor(const nn::ModelConfig& c, F&& f) {
  const int64_t D = c.d_model, V = c.vocab_size, Hd = c.n_heads * c.hdim(), KVd = c.kv_heads() * c.hdim(),
                F_ = c.ffn_dim();
  const bool layer_norm = c.norm == nn::NormKind::LayerNorm;
  auto norm = [&](const std::string& name) {
    f(name + ".weight", Shape{D});
    if (layer_norm) f(name + ".bias", Shape{D});
  };
  auto linear = [&](const std::string& name, int64_t in, int64_t out) {
    f(name + ".weight", Shape{out, in});
    if (c.bias) f(name + ".bias", Shape{out});
  };
  f("model.embed_tokens.weight", Shape{V, D});
  if (c.pos == nn::PosKind::Learned) f("model.embed_positions.weight", Shape{c.max_seq_len, D});
  for (int64_t l = 0; l < c.n_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    norm(p + "input_layernorm");
    linear(p + "self_attn.q_proj", D, Hd);
    linear(p + "self_attn.k_proj", D, KVd);
    linear(p + "self_attn.v_proj", D, KVd);
    linear(p + "self_attn.o_proj", Hd, D);
    norm(p + "post_attention_layernorm");
    if (nn::is_gated(c.ffn)) linear(p + "mlp.gate_proj", D, F_);
    linear(p + "mlp.up_proj", D, F_);
    linear(p + "mlp.down_proj", F_, D);
  }
  if (c.placement == nn::NormPlacement::Pre) norm("model.norm");
  if (!c.tie_embeddings) f("lm_head.weight", Shape{V, D});
}

namespace detail {
// Number of layers the header's "model.layers.<i>." names cover (largest i + 1), or 0.
inline int64_t layers_in_header(const SafeTensorsHeader& h) {
  static constexpr std::string_view prefix = "model.layers.";
  int64_t layers = 0;
  for (const auto& [name, _] : h.tensors) {
    if (name.rfind(prefix, 0) != 0) continue;
    int64_t i = -1;
    const char* first = name.data() + prefix.size();
    const auto [end, ec] = std::from_chars(first, name.data() + name.size(), i);
    if (ec == std::errc() && end != first && *end == '.' && i >= 0) layers = std::max(layers, i + 1);
  }
  return layers;
}
}  // namespace detail

// Checks `c` against a weights file's header (see the top of this file). `file` names the weights and
// `config_source` the config they are checked against ("runs/x/config.json"), both in every error.
inline void check_model_file(const nn::ModelConfig& c, const SafeTensorsHeader& header, const std::string& file,
                             const std::string& config_source) {
  const int64_t file_layers = detail::layers_in_header(header);
  SINKLAB_CHECK(file_layers == c.n_layers, config_source, " says n_layers = ", c.n_layers, " but '", file, "' holds ",
                file_layers, " layers (tensors model.layers.<i>.*)");
  double file_elements = 0;
  for (const auto& [name, t] : header.tensors) file_elements += double(sinklab::numel(t.shape));
  for_each_core_tensor(c, [&](const std::string& name, const Shape& shape) {
    const auto it = header.tensors.find(name);
    SINKLAB_CHECK(it != header.tensors.end(), "'", file, "' has no tensor '", name, "' (", config_source,
                  " implies shape ", to_string(shape), ")");
    SINKLAB_CHECK(it->second.shape == shape, "'", file, "': tensor '", name, "' has shape ",
                  to_string(it->second.shape), " but ", config_source, " implies ", to_string(shape));
    SINKLAB_CHECK(is_float_dtype(it->second.dtype), "'", file, "': tensor '", name, "' has dtype ", it->second.dtype,
                  "; weights must be F32, F64, BF16 or F16");
  });
  // The one large allocation that the file does not hold: the sinusoidal table, computed from max_seq_len.
  if (c.pos == nn::PosKind::Sinusoidal) {
    const double table = double(c.max_seq_len) * double(c.d_model);
    SINKLAB_CHECK(table <= std::max(0x1p26, file_elements), config_source, ": max_seq_len ", c.max_seq_len,
                  " x d_model ", c.d_model, " = ", table, " sinusoidal table entries, more than the ", file_elements,
                  " weights in '", file, "' (and more than 2^26)");
  }
}

// The model config of a sinklab checkpoint directory: config.json's "sinklab" block read strictly
// (nn::model_config_from_json), then checked against model.safetensors' header. Nothing the size of the model is
// allocated before both pass.
inline nn::ModelConfig read_checkpoint_config(const std::filesystem::path& dir) {
  const std::filesystem::path cfg_file = dir / "config.json", weights = dir / "model.safetensors";
  SINKLAB_CHECK(std::filesystem::exists(cfg_file), dir.string(),
                ": no config.json (not a sinklab checkpoint directory)");
  const Json j = parse_json(read_text_file(cfg_file), cfg_file.string());
  SINKLAB_CHECK(j.is_object() && j.contains("sinklab"), cfg_file.string(),
                ": no \"sinklab\" block (written by another tool?)");
  const nn::ModelConfig c = nn::model_config_from_json(j["sinklab"], cfg_file.string() + ": sinklab.");
  check_model_file(c, read_safetensors_header(weights), weights.string(), cfg_file.string());
  return c;
}

}  // namespace sinklab::io
