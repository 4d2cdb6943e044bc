// sinklab-probe's inputs (apps/probe/model_source.hpp): a Hugging Face config.json and token-id files read
// strictly, with errors that name the file and key. Nothing here builds a model, so no attention instances.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "io/tmpdir.hpp"
#include "model_source.hpp"
#include "support/error_of.hpp"

using namespace sinklab;
using Json = nlohmann::json;

namespace {
Json hf() {
  return {{"model_type", "llama"},    {"vocab_size", 11},         {"hidden_size", 8},        {"num_hidden_layers", 2},
          {"num_attention_heads", 2}, {"num_key_value_heads", 1}, {"intermediate_size", 16}, {"hidden_act", "silu"}};
}
Json hf_with(const char* key, Json value) {
  Json j = hf();
  j[key] = std::move(value);
  return j;
}
using sinklab::test::error_of;
std::string hf_error(const Json& j) {
  return error_of([&] { apps::config_from_hf(j, "hf/config.json"); });
}
}  // namespace

TEST_CASE("probe: a Hugging Face config is read strictly", "[probe][hf]") {
  const auto c = apps::config_from_hf(hf_with("head_dim", nullptr), "hf/config.json");  // null: the default
  CHECK(c.n_kv_heads == 1);
  CHECK(c.hdim() == 4);
  CHECK(c.max_seq_len == 2048);
  CHECK_THAT(hf_error(hf_with("num_attention_heads", 0)),  // was a division by zero (SIGFPE)
             Catch::Contains("hf/config.json: num_attention_heads: 0 is out of range"));
  CHECK_THAT(hf_error(hf_with("num_hidden_layers", 1e9)), Catch::Contains("num_hidden_layers: expected an integer"));
  CHECK_THAT(hf_error(hf_with("num_hidden_layers", 1000000000)), Catch::Contains("num_hidden_layers: 1000000000"));
  CHECK_THAT(hf_error(hf_with("hidden_size", true)), Catch::Contains("hidden_size: expected an integer, got boolean"));
  CHECK_THAT(hf_error(hf_with("vocab_size", (int64_t(1) << 32) + 65)), Catch::Contains("vocab_size: 4294967361"));
  CHECK_THAT(hf_error(hf_with("num_key_value_heads", 3)), Catch::Contains("num_key_value_heads: 3 is out of range"));
  CHECK_THAT(hf_error(hf_with("num_attention_heads", 3)), Catch::Contains("hidden_size 8 is not divisible"));
  CHECK_THAT(hf_error(hf_with("model_type", "gpt2")), Catch::Contains("model_type 'gpt2' is not supported"));
  CHECK_THAT(hf_error(hf_with("rope_scaling", {{"type", "linear"}, {"factor", 2.0}})), Catch::Contains("rope_scaling"));
  CHECK_THAT(hf_error(hf_with("hidden_act", "gelu")), Catch::Contains("hidden_act 'gelu'"));
  CHECK_THAT(hf_error(hf_with("attention_bias", true)), Catch::Contains("attention_bias and mlp_bias differ"));
  CHECK_THAT(hf_error(hf_with("rms_norm_eps", "1e-5")), Catch::Contains("rms_norm_eps: expected a number"));
  CHECK_THAT(hf_error(hf_with("rms_norm_eps", 0)), Catch::Contains("norm_eps"));
  Json missing = hf();
  missing.erase("intermediate_size");
  CHECK_THAT(hf_error(missing), Catch::Contains("lacks 'intermediate_size'"));
  CHECK_THAT(hf_error(Json::array()), Catch::Contains("expected a JSON object"));
}

TEST_CASE("probe: token ids in a .json file are integers in [0, vocab)", "[probe][data]") {
  test::TempDir dir("src");
  auto rows_error = [&](const std::string& text) {
    io::write_file_atomic(dir / "ids.json", std::string_view(text));
    return error_of([&] { apps::load_sequences((dir / "ids.json").string(), "", 11, "none", 3, 10, 0); });
  };
  io::write_file_atomic(dir / "ok.json", std::string_view("[[1, 2, 3, 4, 5], [10, 0, 0, 0], [9, 9, 9, 9, 9, 9]]"));
  const auto ok = apps::load_sequences((dir / "ok.json").string(), "", 11, "none", 3, 2, 0);
  CHECK(ok == std::vector<std::vector<int32_t>>{{1, 2, 3, 4}, {10, 0, 0, 0}});
  CHECK_THAT(rows_error("[[1, 2, 1.9, 4]]"),
             Catch::Contains("ids.json: sequence 0, token 2: expected an integer, got number 1.9"));
  CHECK_THAT(rows_error("[[1, 2, 3, true]]"), Catch::Contains("token 3: expected an integer, got boolean"));
  CHECK_THAT(rows_error("[[1, 2, 3, 4294967361]]"), Catch::Contains("token 3: 4294967361 is out of range [0, 10]"));
  CHECK_THAT(rows_error("[[1, 2, 3, 11]]"), Catch::Contains("11 is out of range [0, 10]"));
  CHECK_THAT(rows_error("[[1, 2, 3, -1]]"), Catch::Contains("-1 is out of range"));
  CHECK_THAT(rows_error("[[1, 2, 3, 4], 5]"), Catch::Contains("sequence 1 is integer, not a list"));
  CHECK_THAT(rows_error("[[1, 2]]"), Catch::Contains("sequence 0 has 2 tokens; --seq-len 3 needs 4"));
  CHECK_THAT(rows_error("{\"ids\": [1]}"), Catch::Contains("expected a JSON list of token-id lists"));
  CHECK_THAT(rows_error("[[1, 2,"),
             Catch::Contains("ids.json:1:8: invalid JSON") && !Catch::Contains("json.exception"));
}

TEST_CASE("probe: inputs that are not regular files, ids beyond the vocabulary, absurd sizes", "[probe][data]") {
  test::TempDir dir("src");
  auto seq_error = [&](const std::string& data, const std::string& synthetic = "", int64_t samples = 4) {
    return error_of([&] { apps::load_sequences(data, synthetic, 11, "byte", 3, samples, 0); });
  };
  CHECK_THAT(seq_error(dir.path.string()), Catch::Contains("a directory, not a regular file"));
  REQUIRE(::mkfifo((dir / "pipe.txt").c_str(), 0600) == 0);
  CHECK_THAT(seq_error((dir / "pipe.txt").string()), Catch::Contains("a FIFO"));
  CHECK_THAT(seq_error("/dev/zero"), Catch::Contains("a character device"));
  CHECK_THAT(seq_error((dir / "absent.json").string()), Catch::Contains("absent.json"));
  const std::vector<int32_t> big = {1, 2, 3, 4, 5, 6, 70, 8};
  data::write_llmc_tokens(dir / "t.bin", big);
  CHECK_THAT(seq_error((dir / "t.bin").string()), Catch::Contains("token 6 = 70 is outside the model's vocabulary"));
  io::write_file_atomic(dir / "text.txt", std::string_view("hello, world"));  // bytes >= 11 with a byte tokenizer
  CHECK_THAT(seq_error((dir / "text.txt").string()), Catch::Contains("outside the model's vocabulary [0, 11)"));
  CHECK_THAT(seq_error((dir / "t.bin").string(), "random"), Catch::Contains("not both"));
  CHECK_THAT(seq_error("", "random", int64_t(1) << 40), Catch::Contains("exceed the 2^28"));
  CHECK_THAT(seq_error("", "randm"), Catch::Contains("--synthetic: expected random or repeated"));
  CHECK(apps::load_sequences("", "repeated", 11, "none", 3, 2, 5).size() == 2);
}

TEST_CASE("probe: the longest --seq-len a model takes", "[probe]") {
  nn::ModelConfig c;
  c.max_seq_len = 32;
  CHECK(apps::max_probe_seq_len(c, "sinklab") == apps::kMaxProbeSeqLen);  // RoPE extrapolates
  CHECK(apps::max_probe_seq_len(c, "llama2.c") == 32);
  c.pos = nn::PosKind::Learned;
  CHECK(apps::max_probe_seq_len(c, "sinklab") == 32);
  c.pos = nn::PosKind::Sinusoidal;
  CHECK(apps::max_probe_seq_len(c, "huggingface") == 32);
}
