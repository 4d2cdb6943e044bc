// validate_config: every value out of range is an error naming the key and the value, and the shipped configs pass.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "sinklab/train/validate.hpp"
#include "tiny_run.hpp"

using namespace sinklab;
namespace fs = std::filesystem;

namespace {
struct Case {
  const char* key;  // dotted
  io::Json value;
  const char* shown;  // how the error shows the value
};

void set_key(io::Json& cfg, const std::string& key, const io::Json& value) {
  std::string ptr = "/" + key;
  std::replace(ptr.begin(), ptr.end(), '.', '/');
  cfg[io::Json::json_pointer(ptr)] = value;
}
}  // namespace

TEST_CASE("validate: each range check names the key and the value", "[train][validate]") {
  const auto dir = tiny::fresh_dir("validate");
  const auto good = tiny::config(dir / "run", tiny::corpus(dir), 4);  // batch 4, seq_len 16, max_seq_len 32
  REQUIRE_NOTHROW(train::validate_config(good));
  const std::vector<Case> cases = {
      {"run_dir", "", "empty"},
      {"train.steps", 0, "got 0"},
      {"train.batch_size", 0, "got 0"},
      {"train.seq_len", 1, "got 1"},
      {"train.seq_len", 64, "64 exceeds model.max_seq_len 32"},
      {"train.grad_accum", 0, "got 0"},
      {"train.grad_accum", 3, "(3)"},
      {"train.seed", -1, "got -1"},
      {"train.threads", -2, "got -2"},
      {"train.device", "tpu", "'tpu' is not a device (cpu, cuda)"},
      {"train.dtype", "bfloat16", "'bfloat16'"},
      {"train.skip_nonfinite", -1, "got -1"},
      {"optim.lr", 0.0, "got 0"},
      {"optim.lr", -0.001, "got -0.001"},
      {"optim.min_lr", -1e-5, "got -1e-05"},
      {"optim.min_lr", 0.5, "(0.5)"},
      {"optim.schedule", "cosin", "'cosin'"},
      {"optim.warmup", -1, "got -1"},
      {"optim.beta1", 1.0, "got 1"},
      {"optim.beta1", -0.1, "got -0.1"},
      {"optim.beta2", 1.5, "got 1.5"},
      {"optim.eps", 0.0, "got 0"},
      {"optim.weight_decay", -0.1, "got -0.1"},
      {"optim.decay", "none", "'none'"},
      {"optim.clip", -1.0, "got -1"},
      {"log.every", -1, "got -1"},
      {"log.eval_every", -5, "got -5"},
      {"log.eval_batches", 0, "got 0"},
      {"log.checkpoint_every", -1, "got -1"},
      {"log.probe_every", -1, "got -1"},
      {"log.probe_samples", 0, "got 0"},
      {"log.probe_seq_len", 1, "got 1"},
      {"log.probe_eps", 0.0, "got 0"},
      {"log.probe_eps", 1.0, "got 1"},
      {"log.keep_checkpoints", -1, "got -1"},
      {"data.format", "csv", "'csv'"},
      {"data.val_fraction", 1.0, "got 1"},
      {"data.val_fraction", -0.5, "got -0.5"},
      {"data.windows", "docs", "'docs'"},
      {"data.tokenizer", "bpe", "'bpe'"},
      {"data.bos_id", 258, "got 258"},
      {"data.eos_id", -2, "got -2"},
      {"data.random_tokens", {2, 40}, "[2,40]"},
      {"data.random_tokens", {5, 5}, "[5,5]"},
      {"data.random_tokens", {-1, 3}, "[-1,3]"},
      {"data.random_tokens", {1, 2, 3}, "[1,2,3]"},
      {"data.fixed_token_pos", 16, "got 16"},
      {"data.fixed_token_pos", -2, "got -2"},
      {"data.prefix_lm", 17, "got 17"},
      {"data.prefix_lm", -1, "got -1"},
      {"data.train", {(dir / "missing.txt").string()}, "missing.txt' does not exist"},
      {"data.val", {(dir / "gone.txt").string()}, "gone.txt' does not exist"},
      {"model.attention", "softmx", "'softmx'"},
  };
  for (const auto& c : cases) {
    INFO(c.key << " = " << c.value.dump());
    auto cfg = good;
    set_key(cfg, c.key, c.value);
    CHECK_THROWS_WITH(train::validate_config(cfg), Catch::Contains(c.key) && Catch::Contains(c.shown));
  }
  // Relations: the fixed token's id only matters when a position is set; it must be a token of the model.
  auto fixed = good;
  fixed["data"]["fixed_token_id"] = 300;
  CHECK_NOTHROW(train::validate_config(fixed));
  fixed["data"]["fixed_token_pos"] = 0;
  CHECK_THROWS_WITH(train::validate_config(fixed), Catch::Contains("data.fixed_token_id") && Catch::Contains("300"));
  // Data that cannot be read: a FIFO (would block) and a SentencePiece model that is not there.
  auto fifo = good;
  REQUIRE(::mkfifo((dir / "fifo").c_str(), 0644) == 0);
  fifo["data"]["train"] = {(dir / "fifo").string()};
  CHECK_THROWS_WITH(train::validate_config(fifo),
                    Catch::Contains("data.train") && Catch::Contains("not a regular file"));
  auto sp = good;
  sp["data"]["tokenizer"] = "sentencepiece";
  sp["data"]["sp_model"] = (dir / "tok.model").string();
  CHECK_THROWS_WITH(train::validate_config(sp), Catch::Contains("data.sp_model") && Catch::Contains("tok.model"));
  fs::remove_all(dir);
}

TEST_CASE("validate: the Bigram-Backcopy task's values", "[train][validate]") {
  auto good = tiny::config("unused", fs::path(), 4);
  good["data"]["format"] = "bigram_backcopy";
  good["data"]["train"] = io::Json::array();
  good["data"]["backcopy"]["vocab"] = 16;
  good["data"]["backcopy"]["support"] = 4;
  good["model"]["vocab_size"] = 17;
  REQUIRE_NOTHROW(train::validate_config(good));
  const std::vector<Case> cases = {
      {"data.backcopy.triggers", 0, "got 0"},
      {"data.backcopy.vocab", 4, "got 4"},      // triggers 3 + two others at least
      {"data.backcopy.vocab", 17, "vocab 17"},  // BOS would not fit model.vocab_size 17
      {"data.backcopy.trigger_mass", 1.0, "got 1"},
      {"data.backcopy.support", 14, "got 14"},  // more than the 13 non-trigger tokens
      {"data.backcopy.table", "zipf", "'zipf'"},
      {"data.backcopy.corpus", "/nonexistent/corpus.txt", "does not exist"},
      {"data.backcopy.val_sequences", 0, "got 0"},
      {"data.backcopy.seed", -3, "got -3"},
      {"data.train", {"x.txt"}, "must be empty"},
      {"data.windows", "bos", "'bos'"},
  };
  for (const auto& c : cases) {
    INFO(c.key << " = " << c.value.dump());
    auto cfg = good;
    if (std::string(c.key) == "data.backcopy.corpus") cfg["data"]["backcopy"]["table"] = "corpus";
    set_key(cfg, c.key, c.value);
    const std::string key = std::string(c.key) == "data.backcopy.vocab" && c.value == 17 ? "model.vocab_size" : c.key;
    CHECK_THROWS_WITH(train::validate_config(cfg), Catch::Contains(key) && Catch::Contains(c.shown));
  }
}

TEST_CASE("validate: every shipped config passes, given data that exists", "[train][validate]") {
  const auto dir = tiny::fresh_dir("validate_shipped");
  const auto corpus = tiny::corpus(dir);
  int n = 0;
  for (const auto& e : fs::recursive_directory_iterator(fs::path(SINKLAB_SOURCE_DIR) / "configs")) {
    if (e.path().extension() != ".json") continue;
    INFO(e.path().string());
    auto c = train::load_config(e.path(), {});
    if (c["data"]["format"] != "bigram_backcopy") {
      c["data"]["train"] = {corpus.string()};
      c["data"]["val"] = io::Json::array();
      c["data"]["sp_model"] = "";
    }
    if (c["data"]["backcopy"]["table"] == "corpus") c["data"]["backcopy"]["corpus"] = corpus.string();
    CHECK_NOTHROW(train::validate_config(c));
    ++n;
  }
  CHECK(n > 90);
  fs::remove_all(dir);
}
