// nn::ModelConfig read from JSON strictly: type rules in model_config_from_json, value rules in validate().
#include <catch2/catch.hpp>

#include "sinklab/nn/config.hpp"

using namespace sinklab;
using Json = nlohmann::json;

namespace {
Json base() { return {{"vocab_size", 11}, {"d_model", 8}, {"n_layers", 2}, {"n_heads", 2}}; }
Json with(const char* key, Json value) {
  Json j = base();
  j[key] = std::move(value);
  return j;
}
std::string error_of(const Json& j, const std::string& where = "model.") {
  try {
    nn::model_config_from_json(j, where);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("model config: to_json and model_config_from_json round-trip", "[nn][config]") {
  nn::ModelConfig c;
  c.vocab_size = 300, c.d_model = 48, c.n_layers = 3, c.n_heads = 6, c.n_kv_heads = 2, c.head_dim = 10;
  c.d_ff = 96, c.max_seq_len = 77, c.ffn = nn::FfnKind::GeGLU, c.norm = nn::NormKind::LayerNorm;
  c.placement = nn::NormPlacement::Post, c.norm_eps = 1e-6, c.pos = nn::PosKind::ALiBi, c.rope_base = 5e5;
  c.rope_interleaved = true, c.tie_embeddings = true, c.bias = true, c.attention = "sigmoid_norm";
  c.window = "sliding", c.window_size = 5, c.prefix_len = 3, c.slot = nn::BiasSlot::KV, c.init = "pytorch";
  c.seed = (uint64_t(1) << 63) - 1;
  const Json j = nn::to_json(c);
  CHECK(nn::to_json(nn::model_config_from_json(j)) == j);
  CHECK(nn::to_json(nn::model_config_from_json(nn::to_json(nn::ModelConfig{}))) == nn::to_json(nn::ModelConfig{}));
  // Keys left out take ModelConfig's defaults; "_comment" is free text, as in run configs.
  Json partial = base();
  partial["_comment"] = "tiny";
  const auto p = nn::model_config_from_json(partial);
  CHECK(p.d_ff == 0);
  CHECK(p.attention == "softmax");
}

TEST_CASE("model config: integers must be integers in range", "[nn][config]") {
  CHECK_THAT(error_of(with("n_layers", 4.0)),
             Catch::Contains("model.n_layers") && Catch::Contains("expected an integer"));
  CHECK_THAT(error_of(with("n_layers", 1.9)), Catch::Contains("model.n_layers"));
  CHECK_THAT(error_of(with("d_model", true)), Catch::Contains("model.d_model") && Catch::Contains("boolean"));
  CHECK_THAT(error_of(with("n_heads", "2")), Catch::Contains("model.n_heads") && Catch::Contains("string"));
  CHECK_THAT(error_of(with("vocab_size", (int64_t(1) << 32) + 65)),
             Catch::Contains("model.vocab_size") && Catch::Contains("4294967361") && Catch::Contains("out of range"));
  CHECK_THAT(error_of(with("n_layers", 1000000000)), Catch::Contains("model.n_layers: 1000000000 is out of range"));
  CHECK_THAT(error_of(with("seed", -1)), Catch::Contains("model.seed"));
  CHECK_THAT(error_of(with("seed", Json(std::numeric_limits<uint64_t>::max()))), Catch::Contains("model.seed"));
  CHECK_THAT(error_of(with("norm_eps", "small")), Catch::Contains("model.norm_eps") && Catch::Contains("number"));
  CHECK_THAT(error_of(with("tie_embeddings", 1)),
             Catch::Contains("model.tie_embeddings") && Catch::Contains("true or false"));
  CHECK_THAT(error_of(with("attention", 3)), Catch::Contains("model.attention") && Catch::Contains("string"));
  CHECK_THAT(error_of(with("ffn", 1)), Catch::Contains("model.ffn"));
  CHECK_THAT(error_of(with("ffn", "swigloo")), Catch::Contains("model.ffn") && Catch::Contains("swiglu"));
}

TEST_CASE("model config: unknown and missing keys are named", "[nn][config]") {
  CHECK_THAT(error_of(with("n_layer", 2)), Catch::StartsWith("unknown key 'model.n_layer'; did you mean 'n_layers'?"));
  CHECK_THAT(error_of(with("dropout", 0.1)), Catch::Contains("unknown key 'model.dropout'"));
  for (const char* key : {"vocab_size", "d_model", "n_layers", "n_heads"}) {
    Json j = base();
    j.erase(key);
    CHECK_THAT(error_of(j), Catch::Contains(std::string("model.") + key + ": missing"));
  }
  CHECK_THAT(error_of(Json::array()), Catch::Contains("model: expected an object"));
  // A checkpoint's loader names its file.
  CHECK_THAT(error_of(with("n_layers", 2.5), "runs/x/config.json: sinklab."),
             Catch::Contains("runs/x/config.json: sinklab.n_layers"));
}

TEST_CASE("model config: value rules", "[nn][config]") {
  CHECK_THAT(error_of(with("n_heads", 0)), Catch::Contains("model.n_heads: 0 is out of range"));
  CHECK_THAT(error_of(with("d_model", -8)), Catch::Contains("model.d_model"));
  CHECK_THAT(error_of(with("n_heads", 3)), Catch::Contains("d_model (8) is not divisible by n_heads (3)"));
  CHECK_THAT(error_of(with("n_kv_heads", 3)), Catch::Contains("model.n_kv_heads: 3 is out of range [0, 2]"));
  Json kv = with("n_heads", 4);
  kv["n_kv_heads"] = 3;
  CHECK_THAT(error_of(kv), Catch::Contains("must be a multiple of n_kv_heads (3)"));
  CHECK_THAT(error_of(with("head_dim", 3)), Catch::Contains("RoPE needs an even head_dim"));
  CHECK_THAT(error_of(with("d_ff", -1)), Catch::Contains("model.d_ff"));
  CHECK_THAT(error_of(with("max_seq_len", 0)), Catch::Contains("model.max_seq_len"));
  CHECK_THAT(error_of(with("window_size", -2)), Catch::Contains("model.window_size"));
  CHECK_THAT(error_of(with("prefix_len", int64_t(1) << 31)), Catch::Contains("model.prefix_len"));
  CHECK_THAT(error_of(with("window", "sliding")), Catch::Contains("window_size > 0"));
  CHECK_THAT(error_of(with("window", "slidng")), Catch::Contains("model.window: unknown value 'slidng'"));
  CHECK_THAT(error_of(with("norm_eps", 0)), Catch::Contains("model.norm_eps"));
  CHECK_THAT(error_of(with("rope_base", -1.0)), Catch::Contains("model.rope_base"));
  CHECK_THAT(error_of(with("init", "xavier")), Catch::Contains("model.init"));
  CHECK_THAT(error_of(with("attention", "")), Catch::Contains("model.attention"));
  // Every size within its own limit, but together far beyond any model: refused before anything is allocated.
  Json huge = base();
  huge["vocab_size"] = nn::ModelConfig::kMaxVocab;
  huge["d_model"] = nn::ModelConfig::kMaxWidth;
  CHECK_THAT(error_of(huge), Catch::Contains("exceed the limit"));
}
