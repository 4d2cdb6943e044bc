// Training on the generated Bigram-Backcopy task and on BOS-aligned windows: exact resume, the probes over
// training in metrics.jsonl, and the windows the data layer hands the trainer.
#include <catch2/catch.hpp>

#include "tiny_run.hpp"

using namespace sinklab;
namespace fs = std::filesystem;

namespace {
io::Json backcopy_config(const fs::path& run, int steps) {
  auto c = tiny::config(run, fs::path(), steps);
  c["data"]["train"] = io::Json::array();
  c["data"]["format"] = "bigram_backcopy";
  c["data"]["backcopy"]["vocab"] = 16;
  c["data"]["backcopy"]["support"] = 4;
  c["data"]["backcopy"]["val_sequences"] = 16;
  c["model"]["vocab_size"] = 17;
  c["model"]["n_layers"] = 1;
  c["model"]["slot"] = "k";  // the slot's probe keys appear too
  return c;
}
std::map<std::string, std::vector<float>> weights(const fs::path& ckpt) {
  std::map<std::string, std::vector<float>> out;
  for (const auto& [n, e] : io::read_safetensors(ckpt / "model.safetensors").tensors) out[n] = io::to_float(e);
  return out;
}
}  // namespace

TEST_CASE("train: Bigram-Backcopy runs resume bit-exactly and log the task's probes", "[train][backcopy]") {
  const auto dir = tiny::fresh_dir("backcopy");
  train::Trainer(backcopy_config(dir / "a", 7), false, true).run();
  train::Trainer(backcopy_config(dir / "b", 7), false, true).run(4);
  train::Trainer(train::load_config(dir / "b" / "config.json", {}), true, true).run();
  const auto ra = io::read_metrics(dir / "a" / "metrics.jsonl"), rb = io::read_metrics(dir / "b" / "metrics.jsonl");
  REQUIRE(ra.size() == rb.size());
  int probes = 0;
  for (std::size_t i = 0; i < ra.size(); ++i) {
    INFO("record " << i);
    for (const char* k : {"loss", "val_loss", "sink1", "bos_attn", "backcopy_loss", "bigram_loss"})
      if (ra[i].contains(k)) CHECK(ra[i][k].get<double>() == rb[i][k].get<double>());
    if (!ra[i].contains("sink1")) continue;
    ++probes;
    for (const char* k : {"alpha1", "alpha1_raw", "slot_alpha", "slot_sink", "bos_attn", "bos_attn_raw",
                          "bos_attn_trigger", "backcopy_loss", "backcopy_acc", "bigram_loss", "bigram_oracle",
                          "h1_norm_ratio_max", "v1_norm_ratio_min", "probe_loss"})
      CHECK(ra[i].contains(k));
    CHECK(ra[i]["bigram_oracle"].get<double>() > 0);
    CHECK(ra[i]["bos_attn_heads"].size() == 2);  // 1 layer × 2 heads
  }
  CHECK(probes == 3);  // steps 3, 6 and the last
  CHECK(weights(dir / "a" / "final") == weights(dir / "b" / "final"));
  // Resuming with another task is refused rather than silently continuing a different stream.
  CHECK_THROWS_WITH(train::Trainer(train::load_config(dir / "b" / "config.json", {"data.backcopy.seed=2"}), true, true),
                    Catch::Contains("task"));
  fs::remove_all(dir);
}

TEST_CASE("train: data.windows = bos and documents start every window at BOS", "[train]") {
  const auto dir = tiny::fresh_dir("windows");
  auto cfg = tiny::config(dir / "run", tiny::corpus(dir), 2);
  for (const char* layout : {"bos", "documents"}) {
    INFO(layout);
    cfg["data"]["windows"] = layout;
    const auto d = train::load_data(cfg, dir / "run");
    for (const auto* ds : {d.train.get(), d.val.get()}) {
      REQUIRE(ds->num_blocks() > 0);
      for (int64_t i = 0; i < ds->num_blocks(); ++i) REQUIRE(ds->block(i)[0] == data::ByteTokenizer::kBos);
    }
  }
  train::Trainer(cfg, false, true).run();  // documents: padded blocks train, and the probe skips them
  CHECK(fs::exists(dir / "run" / "final" / "model.safetensors"));
  cfg["data"]["format"] = "llmc";  // a token file has no tokenizer to take BOS from
  for (const auto& e : fs::directory_iterator(dir / "run" / "cache"))
    if (e.path().extension() == ".bin") cfg["data"]["train"] = {e.path().string()};
  CHECK_THROWS_WITH(train::load_data(cfg, dir / "run"), Catch::Contains("data.bos_id"));
  fs::remove_all(dir);
}
