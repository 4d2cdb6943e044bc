// Non-finite values stop a run: a NaN/Inf loss, gradient norm or weight is never applied or checkpointed; with
// train.skip_nonfinite such steps are skipped (no update, the data position advances) and resume stays bit-exact.
#include <catch2/catch.hpp>
#include <limits>

#include "tiny_run.hpp"

using namespace sinklab;
namespace fs = std::filesystem;
using train::StartMode;
using train::Trainer;

namespace {
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

std::map<std::string, std::vector<float>> tensors(const fs::path& file) {
  std::map<std::string, std::vector<float>> out;
  for (const auto& [n, e] : io::read_safetensors(file).tensors) out[n] = io::to_float(e);
  return out;
}
std::map<std::string, std::vector<float>> weights(const fs::path& ckpt) { return tensors(ckpt / "model.safetensors"); }

// Poisons the first gradient element of parameter `index` at each of `steps`; records the parameter's name.
Trainer::GradientHook poison_gradient(std::vector<int64_t> steps, std::size_t index, std::string* name = nullptr) {
  return [steps, index, name](int64_t step, nn::ParamList<float>& params) {
    if (name) *name = params[index].name;
    if (std::find(steps.begin(), steps.end(), step) != steps.end()) params[index].var.mutable_grad().data()[0] = kNaN;
  };
}

io::Json checkpointing_config(const fs::path& run, const fs::path& corpus, int steps) {
  auto c = tiny::config(run, corpus, steps);
  c["log"]["checkpoint_every"] = 1;
  c["log"]["keep_checkpoints"] = 0;
  return c;
}
}  // namespace

TEST_CASE("nonfinite: a NaN gradient stops the run before its update, naming the step and parameter", "[train][nan]") {
  const auto dir = tiny::fresh_dir("nan_grad");
  const auto corpus = tiny::corpus(dir);
  Trainer(checkpointing_config(dir / "clean", corpus, 6), StartMode::fresh, true).run();
  Trainer t(checkpointing_config(dir / "run", corpus, 6), StartMode::fresh, true);
  std::string name;
  t.set_gradient_hook(poison_gradient({3}, 2, &name));
  const auto r = t.run();
  INFO(r.nonfinite);
  CHECK_THAT(r.nonfinite, Catch::Contains("step 3: the gradient norm is NaN") &&
                              Catch::Contains("first non-finite gradient: '" + name + "'") &&
                              Catch::Contains("--resume"));
  CHECK(r.steps_done == 2);
  const fs::path ckpts = dir / "run" / "checkpoints";
  CHECK(io::read_text_file(ckpts / "latest") == "step_2\n");
  CHECK(!fs::exists(ckpts / "step_3"));
  CHECK(!fs::exists(dir / "run" / "final"));
  // The old checkpoints are the clean run's, and load.
  for (const char* s : {"step_1", "step_2"}) CHECK(weights(ckpts / s) == weights(dir / "clean" / "checkpoints" / s));
  CHECK_NOTHROW(train::load_model<float>(ckpts / "step_2"));
  // The update was not applied: the model still holds step 2's weights.
  const auto step2 = weights(ckpts / "step_2");
  for (const auto& p : t.model().parameters()) CHECK(p.var.value().to_vector() == step2.at(p.name));
  // The step's metrics line is written, NaN encoded.
  const auto last = io::read_metrics(dir / "run" / "metrics.jsonl").back();
  CHECK(last["step"] == 3);
  CHECK(last["skipped"] == true);
  CHECK(last["nonfinite"] == "grad_norm");
  CHECK(std::isnan(last["grad_norm"].get<double>()));
  CHECK(io::read_text_file(dir / "run" / "metrics.jsonl").find("\"grad_norm\":\"NaN\"") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("nonfinite: a NaN loss or weight stops the run without a checkpoint", "[train][nan]") {
  const auto dir = tiny::fresh_dir("nan_loss");
  auto cfg = tiny::config(dir / "run", tiny::corpus(dir), 6);
  // A NaN written into the final norm's weight after step 2's backward: the update keeps it NaN.
  auto poison_norm = [](int64_t step, nn::ParamList<float>& params) {
    if (step != 2) return;
    for (auto& p : params)
      if (p.name == "model.norm.weight") p.var.mutable_value().data()[0] = kNaN;
  };
  SECTION("no checkpoint due: the next step's loss is NaN") {
    Trainer t(cfg, StartMode::fresh, true);
    t.set_gradient_hook(poison_norm);
    const auto r = t.run();
    CHECK_THAT(r.nonfinite, Catch::Contains("step 3: the loss is NaN") && Catch::Contains("no checkpoint yet"));
    CHECK(!fs::exists(dir / "run" / "checkpoints"));
    CHECK(io::read_metrics(dir / "run" / "metrics.jsonl").back()["nonfinite"] == "loss");
  }
  SECTION("a checkpoint due: it is refused, naming the parameter") {
    cfg["log"]["checkpoint_every"] = 1;
    Trainer t(cfg, StartMode::fresh, true);
    t.set_gradient_hook(poison_norm);
    const auto r = t.run();
    CHECK_THAT(r.nonfinite, Catch::Contains("step 2: parameter 'model.norm.weight' is not finite") &&
                                Catch::Contains("continues from step_1"));
    CHECK(io::read_text_file(dir / "run" / "checkpoints" / "latest") == "step_1\n");
    CHECK(!fs::exists(dir / "run" / "checkpoints" / "step_2"));
    CHECK_THROWS_WITH(t.checkpoint(), Catch::Contains("model.norm.weight"));
  }
  fs::remove_all(dir);
}

TEST_CASE("nonfinite: skipped steps change nothing, are logged and counted, and resume stays bit-exact",
          "[train][nan]") {
  const auto dir = tiny::fresh_dir("nan_skip");
  const auto corpus = tiny::corpus(dir);
  auto config = [&](const char* run) {
    auto c = checkpointing_config(dir / run, corpus, 8);
    c["train"]["skip_nonfinite"] = 1;
    return c;
  };
  Trainer a(config("a"), StartMode::fresh, true);
  a.set_gradient_hook(poison_gradient({3}, 0));
  const auto ra = a.run();
  CHECK(ra.nonfinite.empty());
  CHECK(ra.steps_done == 8);
  CHECK(ra.skipped_steps == 1);
  const fs::path ck = dir / "a" / "checkpoints";
  CHECK(weights(ck / "step_3") == weights(ck / "step_2"));  // no update
  CHECK(tensors(ck / "step_3" / "trainer_state.safetensors") == tensors(ck / "step_2" / "trainer_state.safetensors"));
  CHECK(weights(ck / "step_4") != weights(ck / "step_3"));
  const auto recs = io::read_metrics(dir / "a" / "metrics.jsonl");
  for (const auto& rec : recs) CHECK(rec.contains("skipped") == (rec["step"] == 3));

  // Stopped after the skip, resumed: the same run to the bit (the skip count and data position are restored).
  {
    Trainer b(config("b"), StartMode::fresh, true);
    b.set_gradient_hook(poison_gradient({3}, 0));
    b.run(4);
  }
  Trainer b(train::load_config(dir / "b" / "config.json", {}), StartMode::resume, true);
  const auto rb = b.run();
  CHECK(rb.skipped_steps == 1);
  CHECK(weights(dir / "a" / "final") == weights(dir / "b" / "final"));
  const auto recs_b = io::read_metrics(dir / "b" / "metrics.jsonl");
  REQUIRE(recs_b.size() == recs.size());
  for (std::size_t i = 0; i < recs.size(); ++i)
    if (recs[i].contains("loss")) CHECK(recs[i]["loss"].get<double>() == recs_b[i]["loss"].get<double>());

  // The budget spans resumes: a second non-finite step after resuming is one too many.
  {
    Trainer c(config("c"), StartMode::fresh, true);
    c.set_gradient_hook(poison_gradient({3, 6}, 0));
    c.run(4);
  }
  Trainer c(train::load_config(dir / "c" / "config.json", {}), StartMode::resume, true);
  c.set_gradient_hook(poison_gradient({3, 6}, 0));
  const auto rc = c.run();
  CHECK_THAT(rc.nonfinite, Catch::Contains("step 6") && Catch::Contains("train.skip_nonfinite = 1"));
  CHECK(io::read_text_file(dir / "c" / "checkpoints" / "latest") == "step_5\n");
  fs::remove_all(dir);
}

TEST_CASE("nonfinite: clipping leaves a non-finite norm alone and names the first bad gradient", "[train][nan]") {
  nn::ModelConfig mc;
  mc.vocab_size = 8, mc.d_model = 8, mc.n_heads = 2, mc.n_layers = 1;
  nn::LlamaModel<float> model(mc);
  auto params = model.parameters();
  for (auto& p : params) p.var.mutable_grad() = Tensor<float>::ones(p.var.shape());
  CHECK(optim::first_nonfinite_grad(params).empty());
  params[1].var.mutable_grad().data()[3] = std::numeric_limits<float>::infinity();
  params[2].var.mutable_grad().data()[0] = kNaN;
  CHECK(optim::first_nonfinite_grad(params) == params[1].name);
  CHECK(!std::isfinite(optim::clip_grad_norm(params, 1.0)));
  CHECK(params[0].var.grad().data()[0] == 1.0f);  // not scaled
}
