#pragma once
// Where sinklab-probe gets a model and its input sequences from.
//   models: a sinklab checkpoint directory (config.json with a "sinklab" block + model.safetensors), a Hugging Face
//           LLaMA directory (config.json + model.safetensors), or a llama2.c legacy .bin file.
//   inputs: a .txt / .jsonl file through the model's tokenizer, a .json list of token-id lists, a token file
//           (.bin llm.c / LITPKDS), or synthetic sequences (random / repeated, seeded; sink paper Table 1).
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "sinklab/data.hpp"
#include "sinklab/probe/llama2c.hpp"
#include "sinklab/train/checkpoint.hpp"

namespace sinklab::apps {

namespace fs = std::filesystem;

struct LoadedModel {
  std::unique_ptr<nn::LlamaModel<float>> model;
  std::string tokenizer;  // spec for data::Tokenizer::from_spec, or "none"
  std::string kind;
};

inline nn::ModelConfig config_from_hf(const nlohmann::json& j, const std::string& file) {
  auto need = [&](const char* k) -> const nlohmann::json& {
    SINKLAB_CHECK(j.contains(k), file, ": Hugging Face config lacks '", k, "'");
    return j.at(k);
  };
  nn::ModelConfig c;
  c.vocab_size = need("vocab_size").get<int64_t>();
  c.d_model = need("hidden_size").get<int64_t>();
  c.n_layers = need("num_hidden_layers").get<int64_t>();
  c.n_heads = need("num_attention_heads").get<int64_t>();
  c.n_kv_heads = j.value("num_key_value_heads", c.n_heads);
  c.head_dim = j.value("head_dim", c.d_model / c.n_heads);
  c.d_ff = need("intermediate_size").get<int64_t>();
  c.max_seq_len = j.value("max_position_embeddings", int64_t(2048));
  c.norm_eps = j.value("rms_norm_eps", 1e-6);
  c.rope_base = j.value("rope_theta", 10000.0);
  c.tie_embeddings = j.value("tie_word_embeddings", false);
  c.bias = j.value("attention_bias", false);
  SINKLAB_CHECK(j.value("hidden_act", std::string("silu")) == "silu", file, ": only hidden_act = silu (SwiGLU) is supported");
  c.validate();
  return c;
}

inline LoadedModel load_model(const fs::path& path) {
  LoadedModel m;
  SINKLAB_CHECK(fs::exists(path), "--model '", path.string(), "' does not exist");
  if (fs::is_regular_file(path) && path.extension() == ".bin") {
    auto l2 = probe::load_llama2c(path.string());
    m.model = std::make_unique<nn::LlamaModel<float>>(l2.config);
    auto params = m.model->parameters();
    nn::load_state_dict(params, l2.state, path.string());
    m.tokenizer = "none";
    m.kind = "llama2.c";
    return m;
  }
  SINKLAB_CHECK(fs::is_directory(path), "--model '", path.string(),
                "': expected a checkpoint directory (config.json + model.safetensors) or a llama2.c .bin");
  const fs::path cfg = path / "config.json";
  SINKLAB_CHECK(fs::exists(cfg), path.string(), ": no config.json");
  const auto j = nlohmann::json::parse(io::read_text_file(cfg));
  if (j.contains("sinklab")) {
    m.model = std::make_unique<nn::LlamaModel<float>>(train::load_model<float>(path));
    m.kind = "sinklab";
  } else {
    m.model = std::make_unique<nn::LlamaModel<float>>(config_from_hf(j, cfg.string()));
    auto params = m.model->parameters();
    train::load_model_tensors(params, path / "model.safetensors");
    m.kind = "huggingface";
  }
  m.tokenizer = fs::exists(path / "tokenizer.txt") ? io::read_text_file(path / "tokenizer.txt") : "none";
  while (!m.tokenizer.empty() && std::isspace(static_cast<unsigned char>(m.tokenizer.back()))) m.tokenizer.pop_back();
  return m;
}

// `samples` sequences of seq_len + 1 tokens: consecutive non-overlapping windows of the token stream (no BOS,
// as the sink paper probes).
inline std::vector<std::vector<int32_t>> windows(const std::vector<int32_t>& tokens, int64_t seq_len, int64_t samples,
                                                 const std::string& what) {
  const int64_t need = seq_len + 1;
  const int64_t avail = static_cast<int64_t>(tokens.size()) / need;
  SINKLAB_CHECK(avail >= 1, what, ": ", tokens.size(), " tokens, fewer than one sequence of ", need);
  std::vector<std::vector<int32_t>> out;
  for (int64_t i = 0; i < std::min(avail, samples); ++i)
    out.emplace_back(tokens.begin() + i * need, tokens.begin() + (i + 1) * need);
  return out;
}

inline std::vector<std::vector<int32_t>> load_sequences(const std::string& data, const std::string& synthetic,
                                                        const LoadedModel& m, int64_t seq_len, int64_t samples,
                                                        uint64_t seed) {
  const int64_t V = m.model->config().vocab_size;
  if (!synthetic.empty()) {
    SINKLAB_CHECK(synthetic == "random" || synthetic == "repeated", "--synthetic: expected random or repeated, got '",
                  synthetic, "'");
    RngStream rng{seed, 0, 0};
    std::vector<std::vector<int32_t>> out;
    for (int64_t s = 0; s < samples; ++s) {
      std::vector<int32_t> seq(seq_len + 1);
      const int32_t first = static_cast<int32_t>(rng.next_u64() % uint64_t(V));
      for (auto& t : seq) t = synthetic == "repeated" ? first : static_cast<int32_t>(rng.next_u64() % uint64_t(V));
      out.push_back(std::move(seq));
    }
    return out;
  }
  SINKLAB_CHECK(!data.empty(), "give --data FILE or --synthetic random|repeated");
  const fs::path p = data;
  SINKLAB_CHECK(fs::exists(p), "--data '", data, "' does not exist");
  const std::string ext = p.extension().string();
  if (ext == ".json") {  // [[ids...], ...]
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(io::read_text_file(p));
    } catch (const nlohmann::json::exception& e) {
      SINKLAB_FAIL(data, ": ", e.what());
    }
    SINKLAB_CHECK(j.is_array(), data, ": expected a JSON list of token-id lists");
    std::vector<int32_t> flat;
    std::vector<std::vector<int32_t>> out;
    for (const auto& row : j) {
      auto ids = row.get<std::vector<int32_t>>();
      SINKLAB_CHECK(static_cast<int64_t>(ids.size()) >= seq_len + 1, data, ": a sequence has ", ids.size(),
                    " tokens; --seq-len ", seq_len, " needs ", seq_len + 1);
      ids.resize(seq_len + 1);
      out.push_back(std::move(ids));
      if (static_cast<int64_t>(out.size()) == samples) break;
    }
    return out;
  }
  if (ext == ".bin") return windows(data::read_token_file(p).tokens, seq_len, samples, data);
  SINKLAB_CHECK(m.tokenizer != "none" && !m.tokenizer.empty(), "--data '", data, "' is text, but the model (", m.kind,
                ") has no tokenizer here; pass token ids (.json / .bin) or --synthetic");
  const data::Tokenizer tok = data::Tokenizer::from_spec(m.tokenizer);
  std::vector<int32_t> tokens;
  for (const auto& doc : data::read_documents(p)) {
    const auto ids = tok.encode(doc);
    tokens.insert(tokens.end(), ids.begin(), ids.end());
    if (static_cast<int64_t>(tokens.size()) > (seq_len + 1) * samples) break;
  }
  return windows(tokens, seq_len, samples, data);
}

}  // namespace sinklab::apps
