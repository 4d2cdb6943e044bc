// A run directory belongs to one run: the lock, what a fresh start refuses, --overwrite (validated first, the old
// run moved aside until the new run's first checkpoint), resume from the newest intact checkpoint, and the
// temporaries a killed process leaves.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "tiny_run.hpp"

using namespace sinklab;
namespace fs = std::filesystem;
using train::StartMode;
using train::Trainer;

namespace {
std::map<std::string, std::vector<float>> weights(const fs::path& ckpt) {
  std::map<std::string, std::vector<float>> out;
  for (const auto& [n, e] : io::read_safetensors(ckpt / "model.safetensors").tensors) out[n] = io::to_float(e);
  return out;
}

// A pid that no process has now: a child that has exited and been reaped.
pid_t dead_pid() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  int status = 0;
  ::waitpid(child, &status, 0);
  return child;
}

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}
}  // namespace

TEST_CASE("run dir: a second trainer on a locked directory fails at once, naming the holder's pid",
          "[train][run_dir]") {
  const auto dir = tiny::fresh_dir("lock");
  const auto cfg = tiny::config(dir / "run", tiny::corpus(dir), 4);
  {
    Trainer first(cfg, StartMode::fresh, true);
    first.run(2);
    const auto before = tiny::snapshot(dir / "run");
    for (StartMode mode : {StartMode::fresh, StartMode::resume, StartMode::overwrite})
      CHECK_THROWS_WITH(Trainer(cfg, mode, true), Catch::Contains("in use by another run") &&
                                                      Catch::Contains("pid " + std::to_string(::getpid())));
    CHECK(tiny::snapshot(dir / "run") == before);  // the refused trainers changed nothing
    CHECK(first.run().steps_done == 4);            // and the holder carries on
  }
  // Released with its holder: the directory can be resumed (nothing left to do) or replaced.
  CHECK(Trainer(cfg, StartMode::resume, true).run().steps_done == 4);
  CHECK(Trainer(cfg, StartMode::overwrite, true).run().steps_done == 4);
  fs::remove_all(dir);
}

TEST_CASE("run dir: any previous run needs --resume or --overwrite", "[train][run_dir]") {
  const auto dir = tiny::fresh_dir("previous");
  const auto corpus = tiny::corpus(dir);
  for (const char* only : {"final", "metrics.jsonl", "config.json", "checkpoints"}) {
    INFO(only);
    const fs::path run = dir / only;
    fs::create_directories(run);
    if (std::string(only) == "final" || std::string(only) == "checkpoints")
      fs::create_directories(run / only);
    else
      io::write_file_atomic(run / only, "{}\n");
    const auto before = tiny::snapshot(run);
    CHECK_THROWS_WITH(Trainer(tiny::config(run, corpus, 2), StartMode::fresh, true),
                      Catch::Contains(only) && Catch::Contains("--resume") && Catch::Contains("--overwrite"));
    CHECK(tiny::snapshot(run) == before);
  }
  // Reused inputs are not a run: a directory holding only the token cache starts fresh.
  auto cfg = tiny::config(dir / "cached", corpus, 2);
  train::load_data(cfg, dir / "cached");
  CHECK(fs::exists(dir / "cached" / "cache"));
  CHECK(Trainer(cfg, StartMode::fresh, true).run().steps_done == 2);
  // Resuming a directory that holds no run says so.
  CHECK_THROWS_WITH(Trainer(tiny::config(dir / "empty", corpus, 2), StartMode::resume, true),
                    Catch::Contains("nothing to resume"));
  fs::remove_all(dir);
}

TEST_CASE("run dir: --overwrite with an invalid config leaves the old run byte for byte", "[train][run_dir]") {
  const auto dir = tiny::fresh_dir("overwrite_invalid");
  const auto corpus = tiny::corpus(dir);
  const auto good = tiny::config(dir / "run", corpus, 3);
  Trainer(good, StartMode::fresh, true).run();
  const auto before = tiny::snapshot(dir / "run");
  struct Bad {
    const char* what;
    std::function<void(io::Json&)> edit;
    const char* needle;
  };
  const std::vector<Bad> bad = {
      {"a bad value", [](io::Json& c) { c["optim"]["lr"] = -1.0; }, "optim.lr"},
      {"a missing data file", [&](io::Json& c) { c["data"]["train"] = {(dir / "nope.txt").string()}; }, "nope.txt"},
      {"an unknown attention", [](io::Json& c) { c["model"]["attention"] = "softmx"; }, "softmx"},
      {"a model the tokenizer does not fit", [](io::Json& c) { c["model"]["vocab_size"] = 100; }, "vocab"},
      {"too little data for a batch", [](io::Json& c) { c["train"]["batch_size"] = 4096; }, "blocks"},
  };
  for (const auto& b : bad) {
    INFO(b.what);
    auto cfg = good;
    b.edit(cfg);
    CHECK_THROWS_WITH(Trainer(cfg, StartMode::overwrite, true), Catch::Contains(b.needle));
    CHECK(tiny::snapshot(dir / "run") == before);
  }
  fs::remove_all(dir);
}

TEST_CASE("run dir: --overwrite keeps the old run aside until the new run's first checkpoint", "[train][run_dir]") {
  const auto dir = tiny::fresh_dir("overwrite");
  const auto corpus = tiny::corpus(dir);
  auto cfg = tiny::config(dir / "run", corpus, 6);
  cfg["log"]["checkpoint_every"] = 3;
  Trainer(cfg, StartMode::fresh, true).run();
  const auto old_final = weights(dir / "run" / "final");
  cfg["model"]["seed"] = 7;  // a different run
  {
    Trainer t(cfg, StartMode::overwrite, true);
    const auto replaced = train::replaced_runs(dir / "run");
    REQUIRE(replaced.size() == 1);
    CHECK(weights(replaced[0] / "final") == old_final);  // moved, not copied or changed
    CHECK(!fs::exists(dir / "run" / "checkpoints"));
    CHECK(!fs::exists(dir / "run" / "metrics.jsonl"));
    t.run(2);  // ends with the new run's first checkpoint: the replaced run goes
    CHECK(train::replaced_runs(dir / "run").empty());
    CHECK(t.run().steps_done == 6);
  }
  CHECK(weights(dir / "run" / "final") != old_final);
  CHECK(io::read_metrics(dir / "run" / "metrics.jsonl").front()["step"] == 1);
  fs::remove_all(dir);
}

TEST_CASE("run dir: a run killed during its first checkpoint starts again with --resume", "[train][run_dir]") {
  const auto dir = tiny::fresh_dir("first_checkpoint");
  const auto corpus = tiny::corpus(dir);
  const auto cfg = tiny::config(dir / "run", corpus, 5);
  Trainer(tiny::config(dir / "straight", corpus, 5), StartMode::fresh, true).run();
  Trainer(cfg, StartMode::fresh, true).run(2);
  // What a kill inside save_checkpoint leaves: the temporary directory, no step_N, no `latest`.
  const fs::path ckpts = dir / "run" / "checkpoints";
  const std::string tmp = "step_2.tmp." + std::to_string(dead_pid()) + ".0";
  fs::rename(ckpts / "step_2", ckpts / tmp);
  fs::remove(ckpts / "latest");
  io::write_file_atomic(dir / "run" / ".config.json.tmp.1.0", "half");  // pid 1 is alive: not ours to remove
  CHECK_THROWS_WITH(Trainer(cfg, StartMode::fresh, true), Catch::Contains("--resume"));
  Trainer t(cfg, StartMode::resume, true);
  CHECK(t.resumed_from().empty());
  CHECK(t.step() == 0);
  CHECK(names_in(ckpts).empty());  // the dead process's temporary is gone
  CHECK(fs::exists(dir / "run" / ".config.json.tmp.1.0"));
  CHECK(t.run().steps_done == 5);
  CHECK(weights(dir / "run" / "final") == weights(dir / "straight" / "final"));
  for (const auto& r : io::read_metrics(dir / "run" / "metrics.jsonl")) CHECK(r["step"].get<int64_t>() <= 5);
  CHECK(io::read_metrics(dir / "run" / "metrics.jsonl").size() ==
        io::read_metrics(dir / "straight" / "metrics.jsonl").size());
  fs::remove_all(dir);
}

TEST_CASE("run dir: resume falls back to the newest intact checkpoint and says which it skipped", "[train][run_dir]") {
  const auto dir = tiny::fresh_dir("fallback");
  const auto corpus = tiny::corpus(dir);
  auto cfg = tiny::config(dir / "run", corpus, 6);
  cfg["log"]["checkpoint_every"] = 1;
  cfg["log"]["keep_checkpoints"] = 0;
  auto straight = cfg;
  straight["run_dir"] = (dir / "straight").string();
  Trainer(straight, StartMode::fresh, true).run();
  Trainer(cfg, StartMode::fresh, true).run(4);
  const fs::path ckpts = dir / "run" / "checkpoints";
  REQUIRE(io::read_text_file(ckpts / "latest") == "step_4\n");
  SECTION("a truncated model file") { fs::resize_file(ckpts / "step_4" / "model.safetensors", 100); }
  SECTION("a trainer state of another model") {
    auto other = cfg;
    other["model"]["d_model"] = 16;
    other["run_dir"] = (dir / "other").string();
    Trainer(other, StartMode::fresh, true).run(1);
    fs::copy_file(dir / "other" / "checkpoints" / "step_1" / "trainer_state.safetensors",
                  ckpts / "step_4" / "trainer_state.safetensors", fs::copy_options::overwrite_existing);
  }
  SECTION("a missing trainer state, and step_3 damaged too") {
    fs::remove(ckpts / "step_4" / "trainer_state.safetensors");
    io::write_file_atomic(ckpts / "step_3" / "model.safetensors", "not safetensors");
  }
  const bool step3_damaged = fs::file_size(ckpts / "step_3" / "model.safetensors") < 100;
  Trainer t(cfg, StartMode::resume, true);
  CHECK(t.resumed_from().filename() == (step3_damaged ? "step_2" : "step_3"));
  CHECK(t.run().steps_done == 6);
  CHECK(weights(dir / "run" / "final") == weights(dir / "straight" / "final"));  // bit-exact from the fallback
  const auto recs = io::read_metrics(dir / "run" / "metrics.jsonl");
  CHECK(recs.size() == io::read_metrics(dir / "straight" / "metrics.jsonl").size());  // no duplicated steps
  fs::remove_all(dir);
}

TEST_CASE("run dir: with no intact checkpoint, resume fails and lists each one's fault", "[train][run_dir]") {
  const auto dir = tiny::fresh_dir("none_intact");
  auto cfg = tiny::config(dir / "run", tiny::corpus(dir), 4);
  cfg["log"]["checkpoint_every"] = 1;
  Trainer(cfg, StartMode::fresh, true).run(2);
  const fs::path ckpts = dir / "run" / "checkpoints";
  fs::resize_file(ckpts / "step_2" / "model.safetensors", 10);
  fs::remove(ckpts / "step_1" / "trainer_state.safetensors");
  const auto before = tiny::snapshot(dir / "run");
  CHECK_THROWS_WITH(Trainer(cfg, StartMode::resume, true),
                    Catch::Contains("no intact checkpoint") && Catch::Contains("'step_2' (named by") &&
                        Catch::Contains("step_1: ") && Catch::Contains("trainer_state.safetensors is missing"));
  CHECK(tiny::snapshot(dir / "run") == before);
  fs::remove_all(dir);
}

TEST_CASE("run dir: checkpoint temporaries are unique per process and call", "[train][run_dir]") {
  const auto dir = tiny::fresh_dir("temporaries");
  auto cfg = tiny::config(dir / "run", tiny::corpus(dir), 3);
  cfg["log"]["checkpoint_every"] = 1;
  Trainer(cfg, StartMode::fresh, true).run();
  CHECK(names_in(dir / "run" / "checkpoints") == std::vector<std::string>{"latest", "step_2", "step_3"});
  const fs::path a = train::detail::sibling_temp(dir / "run" / "final", "tmp");
  const fs::path b = train::detail::sibling_temp(dir / "run" / "final", "tmp");
  CHECK(a != b);
  CHECK(a.filename().string().find(".tmp." + std::to_string(::getpid()) + ".") != std::string::npos);
  const auto parsed = train::detail::parse_temporary(a.filename().string());
  REQUIRE(parsed);
  CHECK(parsed->target == "final");
  CHECK(parsed->pid == ::getpid());
  CHECK(!parsed->replaced);
  CHECK(train::detail::parse_temporary("step_12.old")->replaced);
  CHECK(train::detail::parse_temporary(".metrics.jsonl.tmp.77.3")->target == ".metrics.jsonl");
  for (const char* other : {".replaced-20250101T000000Z-12", "step_12", "latest", ".lock", "notes.tmp"})
    CHECK(!train::detail::parse_temporary(other));
  fs::remove_all(dir);
}

TEST_CASE("run dir: a checkpoint moved aside by a process killed mid-swap is put back", "[train][run_dir]") {
  const auto dir = tiny::fresh_dir("mid_swap");
  const auto cfg = tiny::config(dir / "run", tiny::corpus(dir), 3);
  Trainer(cfg, StartMode::fresh, true).run();
  const auto final_weights = weights(dir / "run" / "final");
  // Killed while rewriting final/: the complete old one moved aside, the new one half-written.
  const std::string pid = std::to_string(dead_pid());
  fs::rename(dir / "run" / "final", dir / "run" / ("final.old." + pid + ".1"));
  fs::create_directories(dir / "run" / ("final.tmp." + pid + ".0"));
  const auto changes = train::clean_up_after_dead_writers(dir / "run");
  REQUIRE(changes.size() == 2);
  CHECK_THAT(changes[0], Catch::StartsWith("restored final from final.old." + pid + ".1"));
  CHECK_THAT(changes[1], Catch::StartsWith("removed final.tmp." + pid + ".0"));
  CHECK(weights(dir / "run" / "final") == final_weights);
  // With the target in place, an .old is only a leftover.
  fs::create_directories(dir / "run" / ("final.old." + pid + ".2"));
  CHECK(train::clean_up_after_dead_writers(dir / "run").size() == 1);
  CHECK(!fs::exists(dir / "run" / ("final.old." + pid + ".2")));
  fs::remove_all(dir);
}
