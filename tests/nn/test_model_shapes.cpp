// A config's sizes against the weights file's header, before the model exists (io/model_shapes.hpp).
#include <catch2/catch.hpp>

#include "io/tmpdir.hpp"
#include "model_files.hpp"
#include "sinklab/io/model_shapes.hpp"

using namespace sinklab;

namespace {
io::SafeTensorsHeader header_of(const io::SafeTensors& st) {
  const auto bytes = io::serialize_safetensors(st);
  uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  return io::parse_safetensors_header(std::string_view(reinterpret_cast<const char*>(bytes.data()) + 8, n),
                                      bytes.size() - 8 - n, "w.safetensors");
}
std::string error_of(const nn::ModelConfig& c, const io::SafeTensors& st) {
  try {
    io::check_model_file(c, header_of(st), "w.safetensors", "config.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
void write_checkpoint(const std::filesystem::path& dir, const nlohmann::json& sinklab, const io::SafeTensors& st) {
  std::filesystem::create_directories(dir);
  io::write_file_atomic(dir / "config.json", nlohmann::json{{"model_type", "llama"}, {"sinklab", sinklab}}.dump());
  io::write_safetensors(dir / "model.safetensors", st);
}
}  // namespace

TEST_CASE("model shapes: a file written for the config passes, in every layout switch", "[nn][shapes]") {
  for (bool tied : {false, true})
    for (bool bias : {false, true})
      for (auto norm : {nn::NormKind::RMSNorm, nn::NormKind::LayerNorm})
        for (auto ffn : {nn::FfnKind::SwiGLU, nn::FfnKind::GELU})
          for (auto pos : {nn::PosKind::RoPE, nn::PosKind::Learned, nn::PosKind::Sinusoidal})
            for (auto placement : {nn::NormPlacement::Pre, nn::NormPlacement::Post}) {
              nn::ModelConfig c = test::tiny_config();
              c.tie_embeddings = tied, c.bias = bias, c.norm = norm, c.ffn = ffn, c.pos = pos, c.placement = placement;
              INFO(nn::to_json(c).dump());
              CHECK(error_of(c, test::core_weights(c)).empty());
            }
}

TEST_CASE("model shapes: sizes the file does not hold are refused, naming file, key and tensor", "[nn][shapes]") {
  const nn::ModelConfig c = test::tiny_config();
  const io::SafeTensors st = test::core_weights(c);
  nn::ModelConfig more = c;
  more.n_layers = 4000;  // within ModelConfig's limits; the file has 2
  CHECK_THAT(error_of(more, st),
             Catch::Contains("config.json says n_layers = 4000") && Catch::Contains("'w.safetensors' holds 2 layers"));
  nn::ModelConfig wide = c;
  wide.vocab_size = 1 << 30;
  CHECK_THAT(error_of(wide, st), Catch::Contains("'model.embed_tokens.weight' has shape (11, 8)") &&
                                     Catch::Contains("implies (1073741824, 8)"));
  nn::ModelConfig ffn = c;
  ffn.d_ff = 32;
  CHECK_THAT(error_of(ffn, st), Catch::Contains("model.layers.0.mlp.gate_proj.weight"));
  nn::ModelConfig tied = c;
  tied.tie_embeddings = true;
  CHECK(error_of(tied, st).empty());  // an extra lm_head is load_state_dict's to refuse, once the model exists
  io::SafeTensors no_head = st;
  no_head.tensors.erase("lm_head.weight");
  CHECK_THAT(error_of(c, no_head), Catch::Contains("has no tensor 'lm_head.weight'"));
  io::SafeTensors ints = st;
  const std::vector<int32_t> zeros(8, 0);
  ints.tensors["model.norm.weight"] = io::make_entry<int32_t>(zeros, {8}, "I32");
  CHECK_THAT(error_of(c, ints), Catch::Contains("'model.norm.weight' has dtype I32"));
  nn::ModelConfig table = c;
  table.pos = nn::PosKind::Sinusoidal;
  table.max_seq_len = nn::ModelConfig::kMaxSeqLen;
  CHECK_THAT(error_of(table, test::core_weights(table)), Catch::Contains("sinusoidal table"));
}

TEST_CASE("model shapes: read_checkpoint_config reads config.json strictly and checks the header", "[nn][shapes]") {
  test::TempDir dir("shapes");
  const nn::ModelConfig c = test::tiny_config();
  write_checkpoint(dir / "ok", nn::to_json(c), test::core_weights(c));
  CHECK(nn::to_json(io::read_checkpoint_config(dir / "ok")) == nn::to_json(c));

  auto error_for = [&](const std::string& name, nlohmann::json sinklab) {
    write_checkpoint(dir / name, sinklab, test::core_weights(c));
    try {
      io::read_checkpoint_config(dir / name);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  nlohmann::json j = nn::to_json(c);
  j["n_layers"] = 1e9;
  CHECK_THAT(error_for("float", j), Catch::Contains((dir / "float" / "config.json").string() + ": sinklab.n_layers") &&
                                        Catch::Contains("expected an integer"));
  j["n_layers"] = 3;
  CHECK_THAT(error_for("three", j), Catch::Contains("says n_layers = 3") && Catch::Contains("holds 2 layers"));
  j = nn::to_json(c);
  j["n_head"] = 2;
  CHECK_THAT(error_for("unknown", j), Catch::Contains("unknown key") && Catch::Contains("sinklab.n_head'"));
  std::filesystem::create_directories(dir / "bad_json");
  io::write_file_atomic(dir / "bad_json" / "config.json", std::string_view("{\"sinklab\": {\"n_layers\": }"));
  CHECK_THROWS_WITH(io::read_checkpoint_config(dir / "bad_json"),
                    Catch::Contains("config.json:1:26: invalid JSON") && !Catch::Contains("json.exception"));
  CHECK_THROWS_WITH(io::read_checkpoint_config(dir / "missing"), Catch::Contains("no config.json"));
}
