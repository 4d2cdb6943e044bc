#pragma once
// Where sinklab-probe gets a model and its input sequences from.
//   models: a sinklab checkpoint directory (config.json with a "sinklab" block + model.safetensors), a Hugging Face
//           LLaMA directory (config.json + model.safetensors), or a llama2.c legacy .bin file. Every size in the
//           config is checked against the weights file's header before the model is allocated.
//   inputs: a .txt / .jsonl file through the model's tokenizer, a .json list of token-id lists, a token file
//           (.bin llm.c / LITPKDS), or synthetic sequences (random / repeated, seeded; sink paper Table 1).
//           Every token id must be an integer in [0, vocab_size).
#include <filesystem>
#include <string>
#include <vector>

#include "sinklab/data.hpp"
#include "sinklab/io/model_shapes.hpp"
#include "sinklab/io/strict_parse.hpp"
#include "sinklab/probe/llama2c.hpp"
#include "sinklab/train/checkpoint.hpp"

namespace sinklab::apps {

namespace fs = std::filesystem;

struct LoadedModel {
  std::unique_ptr<nn::LlamaModel<float>> model;
  std::string tokenizer;  // spec for data::Tokenizer::from_spec, or "none"
  std::string kind;
};

// The Hugging Face LlamaConfig keys we read, strictly: integers must be integers in range, and anything that would
// make our model compute something else (another model_type, rope_scaling, another activation, biases in only the
// attention or only the MLP) is an error rather than a silently different model. A null value means "default", as
// transformers writes it.
inline nn::ModelConfig config_from_hf(const nlohmann::json& j, const std::string& file) {
  SINKLAB_CHECK(j.is_object(), file, ": expected a JSON object, got ", io::json_type_name(j));
  using Limits = nn::ModelConfig;
  auto key = [&](const char* k) { return file + ": " + k; };
  auto given = [&](const char* k) { return j.contains(k) && !j[k].is_null(); };
  auto required = [&](const char* k, int64_t hi) {
    SINKLAB_CHECK(given(k), file, ": Hugging Face config lacks '", k, "'");
    return io::int_from_json(j[k], key(k), 1, hi);
  };
  auto optional = [&](const char* k, int64_t def, int64_t hi) {
    return given(k) ? io::int_from_json(j[k], key(k), 1, hi) : def;
  };
  auto flag = [&](const char* k) { return given(k) && io::bool_from_json(j[k], key(k)); };
  if (given("model_type")) {
    const std::string type = io::string_from_json(j["model_type"], key("model_type"));
    SINKLAB_CHECK(type == "llama", file, ": model_type '", type, "' is not supported (LLaMA only)");
  }
  SINKLAB_CHECK(!given("rope_scaling"), file, ": rope_scaling is not supported (positions would be wrong)");
  const std::string act = given("hidden_act") ? io::string_from_json(j["hidden_act"], key("hidden_act")) : "silu";
  SINKLAB_CHECK(act == "silu", file, ": hidden_act '", act, "' is not supported (only silu, i.e. SwiGLU)");
  nn::ModelConfig c;
  c.vocab_size = required("vocab_size", Limits::kMaxVocab);
  c.d_model = required("hidden_size", Limits::kMaxWidth);
  c.n_layers = required("num_hidden_layers", Limits::kMaxLayers);
  c.n_heads = required("num_attention_heads", Limits::kMaxHeads);
  c.n_kv_heads = optional("num_key_value_heads", c.n_heads, c.n_heads);
  c.head_dim = optional("head_dim", 0, Limits::kMaxWidth);
  c.d_ff = required("intermediate_size", Limits::kMaxWidth);
  c.max_seq_len = optional("max_position_embeddings", 2048, Limits::kMaxSeqLen);
  SINKLAB_CHECK(c.head_dim || c.d_model % c.n_heads == 0, file, ": hidden_size ", c.d_model,
                " is not divisible by num_attention_heads ", c.n_heads, " (and head_dim is not given)");
  SINKLAB_CHECK(c.n_heads % c.n_kv_heads == 0, file, ": num_attention_heads ", c.n_heads,
                " is not a multiple of num_key_value_heads ", c.n_kv_heads);
  c.norm_eps = given("rms_norm_eps") ? io::number_from_json(j["rms_norm_eps"], key("rms_norm_eps")) : 1e-6;
  c.rope_base = given("rope_theta") ? io::number_from_json(j["rope_theta"], key("rope_theta")) : 10000.0;
  c.tie_embeddings = flag("tie_word_embeddings");
  c.bias = flag("attention_bias");
  SINKLAB_CHECK(flag("mlp_bias") == c.bias, file,
                ": attention_bias and mlp_bias differ; our LLaMA has biases in both or in neither");
  c.validate(file + ": ");
  return c;
}

inline LoadedModel load_model(const fs::path& path) {
  LoadedModel m;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  SINKLAB_CHECK(fs::exists(status), "--model '", path.string(), "' does not exist");
  if (fs::is_regular_file(status) && path.extension() == ".bin") {
    auto l2 = probe::load_llama2c(path.string());  // checks the header against the file size before reading
    m.model = std::make_unique<nn::LlamaModel<float>>(l2.config);
    auto params = m.model->parameters();
    nn::load_state_dict(params, l2.state, path.string());
    nn::check_finite(params, path.string());
    m.tokenizer = "none";
    m.kind = "llama2.c";
    return m;
  }
  SINKLAB_CHECK(fs::is_directory(status), "--model '", path.string(),
                "': expected a checkpoint directory (config.json + model.safetensors) or a llama2.c .bin");
  const fs::path cfg = path / "config.json", weights = path / "model.safetensors";
  SINKLAB_CHECK(fs::exists(cfg), path.string(), ": no config.json");
  const auto j = io::parse_json(io::read_text_file(cfg), cfg.string());
  if (j.is_object() && j.contains("sinklab")) {
    // load_model reads the config strictly and checks its sizes against the weights before any allocation
    m.model = std::make_unique<nn::LlamaModel<float>>(train::load_model<float>(path));
    m.kind = "sinklab";
  } else {
    const nn::ModelConfig c = config_from_hf(j, cfg.string());
    io::check_model_file(c, io::read_safetensors_header(weights), weights.string(), cfg.string());
    m.model = std::make_unique<nn::LlamaModel<float>>(c);
    auto params = m.model->parameters();
    train::load_model_tensors(params, weights);
    m.kind = "huggingface";
  }
  nn::check_finite(m.model->parameters(), (path / "model.safetensors").string());
  m.tokenizer = fs::exists(path / "tokenizer.txt") ? io::read_text_file(path / "tokenizer.txt") : "none";
  while (!m.tokenizer.empty() && std::isspace(static_cast<unsigned char>(m.tokenizer.back()))) m.tokenizer.pop_back();
  return m;
}

// The longest --seq-len a model takes: its max_seq_len where positions cannot go further (a learned or sinusoidal
// table; llama2.c models, trained and exported for seq_len), else a ceiling far beyond what a probe can hold in
// memory (it keeps every layer's S x S attention maps).
inline constexpr int64_t kMaxProbeSeqLen = int64_t(1) << 16;
inline int64_t max_probe_seq_len(const nn::ModelConfig& c, const std::string& kind) {
  const bool bounded = c.pos == nn::PosKind::Learned || c.pos == nn::PosKind::Sinusoidal || kind == "llama2.c";
  return bounded ? c.max_seq_len : kMaxProbeSeqLen;
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

// The first `samples` rows of a JSON list of token-id lists, each cut to seq_len + 1 ids. Every id of a row read
// must be an integer in [0, vocab_size); errors name the file, the row and the position.
inline std::vector<std::vector<int32_t>> json_token_rows(const fs::path& p, int64_t vocab_size, int64_t seq_len,
                                                         int64_t samples) {
  const std::string file = p.string();
  const auto j = io::parse_json(io::read_text_file(p), file);
  SINKLAB_CHECK(j.is_array(), file, ": expected a JSON list of token-id lists, got ", io::json_type_name(j));
  std::vector<std::vector<int32_t>> out;
  for (std::size_t r = 0; r < j.size() && static_cast<int64_t>(out.size()) < samples; ++r) {
    const auto& row = j[r];
    const std::string where = file + ": sequence " + std::to_string(r);
    SINKLAB_CHECK(row.is_array(), where, " is ", io::json_type_name(row), ", not a list of token ids");
    SINKLAB_CHECK(static_cast<int64_t>(row.size()) >= seq_len + 1, where, " has ", row.size(), " tokens; --seq-len ",
                  seq_len, " needs ", seq_len + 1);
    std::vector<int32_t> ids(row.size());
    for (std::size_t t = 0; t < row.size(); ++t)
      ids[t] =
          static_cast<int32_t>(io::int_from_json(row[t], where + ", token " + std::to_string(t), 0, vocab_size - 1));
    ids.resize(seq_len + 1);
    out.push_back(std::move(ids));
  }
  return out;
}

// Sequences for a model with `vocab_size` tokens and tokenizer spec `tokenizer` ("none": token ids only).
inline std::vector<std::vector<int32_t>> load_sequences(const std::string& data, const std::string& synthetic,
                                                        int64_t vocab_size, const std::string& tokenizer,
                                                        int64_t seq_len, int64_t samples, uint64_t seed) {
  SINKLAB_CHECK(data.empty() || synthetic.empty(), "give --data FILE or --synthetic random|repeated, not both");
  if (!synthetic.empty()) {
    SINKLAB_CHECK(synthetic == "random" || synthetic == "repeated", "--synthetic: expected random or repeated, got '",
                  synthetic, "'");
    SINKLAB_CHECK(double(samples) * double(seq_len + 1) <= 0x1p28, "--samples ", samples, " x (--seq-len ", seq_len,
                  " + 1) tokens exceed the 2^28 a probe can hold");
    RngStream rng{seed, 0, 0};
    std::vector<std::vector<int32_t>> out;
    for (int64_t s = 0; s < samples; ++s) {
      std::vector<int32_t> seq(seq_len + 1);
      const int32_t first = static_cast<int32_t>(rng.next_u64() % uint64_t(vocab_size));
      for (auto& t : seq)
        t = synthetic == "repeated" ? first : static_cast<int32_t>(rng.next_u64() % uint64_t(vocab_size));
      out.push_back(std::move(seq));
    }
    return out;
  }
  SINKLAB_CHECK(!data.empty(), "give --data FILE or --synthetic random|repeated");
  const fs::path p = data;
  (void)io::RegularFile(p);  // a missing path, directory, FIFO or device is an error here, naming it
  const std::string ext = p.extension().string();
  if (ext == ".json") return json_token_rows(p, vocab_size, seq_len, samples);
  std::vector<int32_t> tokens;
  if (ext == ".bin") {
    tokens = data::read_token_file(p).tokens;
  } else {
    SINKLAB_CHECK(tokenizer != "none" && !tokenizer.empty(), "--data '", data,
                  "' is text, but the model has no tokenizer here; pass token ids (.json / .bin) or --synthetic");
    const data::Tokenizer tok = data::Tokenizer::from_spec(tokenizer);
    for (const auto& doc : data::read_documents(p)) {
      const auto ids = tok.encode(doc);
      tokens.insert(tokens.end(), ids.begin(), ids.end());
      if (static_cast<int64_t>(tokens.size()) > (seq_len + 1) * samples) break;
    }
  }
  auto out = windows(tokens, seq_len, samples, data);
  for (std::size_t s = 0; s < out.size(); ++s)
    for (std::size_t t = 0; t < out[s].size(); ++t)
      SINKLAB_CHECK(out[s][t] < vocab_size, data, ": token ", s * out[s].size() + t, " = ", out[s][t],
                    " is outside the model's vocabulary [0, ", vocab_size, ")");
  return out;
}

inline std::vector<std::vector<int32_t>> load_sequences(const std::string& data, const std::string& synthetic,
                                                        const LoadedModel& m, int64_t seq_len, int64_t samples,
                                                        uint64_t seed) {
  return load_sequences(data, synthetic, m.model->config().vocab_size, m.tokenizer, seq_len, samples, seed);
}

}  // namespace sinklab::apps
