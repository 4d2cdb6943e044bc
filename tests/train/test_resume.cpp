#include <catch2/catch.hpp>

#include "tiny_run.hpp"

using namespace sinklab;
namespace fs = std::filesystem;

static std::vector<nlohmann::json> records(const fs::path& run) { return io::read_metrics(run / "metrics.jsonl"); }

static std::map<std::string, std::vector<float>> weights(const fs::path& ckpt) {
  std::map<std::string, std::vector<float>> out;
  for (const auto& [n, e] : io::read_safetensors(ckpt / "model.safetensors").tensors) out[n] = io::to_float(e);
  return out;
}

TEST_CASE("train: N steps straight equal k steps, stop, resume, N-k steps (bit-exact)", "[train]") {
  const auto dir = tiny::fresh_dir("resume");
  const auto corpus = tiny::corpus(dir);
  train::Trainer(tiny::config(dir / "a", corpus, 8), false, true).run();
  CHECK(train::Trainer(tiny::config(dir / "b", corpus, 8), false, true).run(3).steps_done == 3);
  // Resume the way the app does: from the run directory's stored config.
  const auto stored = train::load_config(dir / "b" / "config.json", {});
  const auto r = train::Trainer(stored, true, true).run();
  CHECK(r.steps_done == 8);
  const auto ra = records(dir / "a"), rb = records(dir / "b");
  REQUIRE(ra.size() == rb.size());
  for (std::size_t i = 0; i < ra.size(); ++i) {
    INFO("record " << i);
    CHECK(ra[i]["step"] == rb[i]["step"]);
    for (const char* k : {"loss", "grad_norm", "lr", "val_loss", "sink1"})
      if (ra[i].contains(k)) CHECK(ra[i][k].get<double>() == rb[i][k].get<double>());  // exact, not approximate
  }
  CHECK(weights(dir / "a" / "final") == weights(dir / "b" / "final"));
  // A second resume of a finished run has nothing left to do and changes nothing.
  CHECK(train::Trainer(stored, true, true).run().steps_done == 8);
  CHECK(weights(dir / "a" / "final") == weights(dir / "b" / "final"));
  fs::remove_all(dir);
}

TEST_CASE("train: learning happens on a toy corpus, and the run directory is complete", "[train]") {
  const auto dir = tiny::fresh_dir("learn");
  auto cfg = tiny::config(dir / "run", tiny::corpus(dir), 40);
  const auto r = train::Trainer(cfg, false, true).run();
  const auto recs = records(dir / "run");
  // Byte-level uniform guessing costs ln(258) ≈ 5.55 nats; 40 steps on a 12-word corpus must go well below.
  CHECK(recs.front()["loss"].get<double>() > 4.5);
  CHECK(r.last_loss < 3.0);
  for (const char* f : {"config.json", "metrics.jsonl", "final/model.safetensors", "final/config.json",
                        "checkpoints/latest"})
    CHECK(fs::exists(dir / "run" / f));
  const auto hf = nlohmann::json::parse(io::read_text_file(dir / "run" / "final" / "config.json"));
  CHECK(hf["model_type"] == "llama");
  CHECK(hf["num_hidden_layers"] == 2);
  fs::remove_all(dir);
}

TEST_CASE("train: corrupted or truncated checkpoints fail clearly and overwrite nothing", "[train]") {
  const auto dir = tiny::fresh_dir("corrupt");
  auto cfg = tiny::config(dir / "run", tiny::corpus(dir), 4);
  train::Trainer(cfg, false, true).run(2);
  const fs::path ck = dir / "run" / "checkpoints" / "step_2";
  const fs::path model = ck / "model.safetensors";
  const auto size = fs::file_size(model);
  fs::resize_file(model, size / 2);
  const auto before = io::read_file(model);
  CHECK_THROWS_WITH(train::Trainer(train::load_config(dir / "run" / "config.json", {}), true, true),
                    Catch::Contains("model.safetensors"));
  CHECK(io::read_file(model) == before);  // nothing rewritten
  // A bad latest pointer names what it points at.
  io::write_file_atomic(dir / "run" / "checkpoints" / "latest", "step_99\n");
  CHECK_THROWS_WITH(train::Trainer(train::load_config(dir / "run" / "config.json", {}), true, true),
                    Catch::Contains("step_99"));
  fs::remove_all(dir);
}

TEST_CASE("train: checkpoint round trip restores the model exactly", "[train]") {
  const auto dir = tiny::fresh_dir("roundtrip");
  nn::ModelConfig c;
  c.d_model = 16, c.n_heads = 2, c.n_layers = 1, c.attention = "softmax_sink", c.slot = nn::BiasSlot::KV;
  nn::LlamaModel<float> m(c);
  train::save_checkpoint<float>(dir / "ck", m, nullptr, {});
  const auto back = train::load_model<float>(dir / "ck");
  const auto p0 = m.parameters(), p1 = back.parameters();
  REQUIRE(p0.size() == p1.size());
  for (std::size_t i = 0; i < p0.size(); ++i) {
    CHECK(p0[i].name == p1[i].name);
    CHECK(p0[i].var.value().to_vector() == p1[i].var.value().to_vector());
  }
  fs::remove_all(dir);
}

TEST_CASE("train: grad_accum = 2 takes the same steps as one batch of the same size", "[train]") {
  const auto dir = tiny::fresh_dir("accum");
  const auto corpus = tiny::corpus(dir);
  auto one = tiny::config(dir / "one", corpus, 5), two = tiny::config(dir / "two", corpus, 5);
  two["train"]["grad_accum"] = 2;  // 2 micro-batches of 2 sequences = the same 4 sequences per step
  train::Trainer(one, false, true).run();
  train::Trainer(two, false, true).run();
  const auto ra = records(dir / "one"), rb = records(dir / "two");
  REQUIRE(ra.size() == rb.size());
  for (std::size_t i = 0; i < ra.size(); ++i)
    for (const char* k : {"loss", "grad_norm"})
      if (ra[i].contains(k)) CHECK(rb[i][k].get<double>() == Approx(ra[i][k].get<double>()).epsilon(1e-4));
  const auto wa = weights(dir / "one" / "final"), wb = weights(dir / "two" / "final");
  for (const auto& [n, a] : wa)
    for (std::size_t j = 0; j < a.size(); ++j) REQUIRE(wb.at(n)[j] == Approx(a[j]).margin(1e-5));
  fs::remove_all(dir);
}

TEST_CASE("train: resume is bit-exact with grad_accum and the random-token transform too", "[train]") {
  const auto dir = tiny::fresh_dir("resume_accum");
  const auto corpus = tiny::corpus(dir);
  auto cfg = [&](const char* run) {
    auto c = tiny::config(dir / run, corpus, 6);
    c["train"]["grad_accum"] = 2;
    c["data"]["random_tokens"] = {2, 5};  // the sink paper's random tokens at positions [2, 5)
    return c;
  };
  train::Trainer(cfg("a"), false, true).run();
  train::Trainer(cfg("b"), false, true).run(4);
  train::Trainer(train::load_config(dir / "b" / "config.json", {}), true, true).run();
  const auto ra = records(dir / "a"), rb = records(dir / "b");
  REQUIRE(ra.size() == rb.size());
  for (std::size_t i = 0; i < ra.size(); ++i)
    if (ra[i].contains("loss")) CHECK(ra[i]["loss"].get<double>() == rb[i]["loss"].get<double>());
  CHECK(weights(dir / "a" / "final") == weights(dir / "b" / "final"));
  fs::remove_all(dir);
}
