#include <catch2/catch.hpp>

#include "io/tmpdir.hpp"
#include "sinklab/experiment/grid.hpp"
#include "sinklab/experiment/plan.hpp"
#include "sinklab/io/atomic_file.hpp"

using namespace sinklab;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {
// A grid directory with a base pretrain config beside it; `grid` is parsed as if read from <dir>/grid.json.
struct GridDir {
  test::TempDir dir{"grid"};
  GridDir() {
    fs::create_directories(dir / "configs");
    io::write_file_atomic(dir / "configs" / "base.json", std::string_view(R"({"train": {"steps": 10}})"));
  }
  experiment::Grid parse(const std::string& text) const {
    return experiment::parse_grid(io::parse_json(text, "grid.json"), dir / "grid.json");
  }
};

const char* kGood = R"({
  "name": "sinks", "title": "Sinks", "description": "free text",
  "base": "configs/base.json",
  "set": {"train.steps": 6, "model.attention": "softmax"},
  "arms": [{"name": "softmax"}, {"name": "k_bias", "set": {"model.slot": "k"}, "_comment": "K-bias slot"}],
  "seeds": [1, 2, 3],
  "metrics": ["loss", "val_loss", "sink[0]"],
  "primary": "val_loss"})";

// kGood with `from` replaced by `to`: one defect per check.
std::string good_with(const std::string& from, const std::string& to) {
  std::string s = kGood;
  const auto at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}
}  // namespace

TEST_CASE("a valid grid parses with its defaults", "[experiment][grid]") {
  GridDir d;
  const auto g = d.parse(kGood);
  CHECK(g.name == "sinks");
  CHECK(g.title == "Sinks");
  CHECK(g.base == (d.dir.path / "configs" / "base.json").lexically_normal());
  REQUIRE(g.arms.size() == 2);
  CHECK(g.arms[1].name == "k_bias");
  REQUIRE(g.arms[1].set.size() == 1);
  CHECK(g.arms[1].set[0].first == "model.slot");
  CHECK(g.arms[1].set[0].second == "k");
  CHECK(g.seeds == std::vector<int64_t>{1, 2, 3});
  CHECK(g.seed_keys == std::vector<std::string>{"model.seed", "train.seed"});
  CHECK(g.primary == "val_loss");
  // primary defaults to the first metric; without metrics, every metric is reported and primary stays open
  CHECK(d.parse(good_with(R"("primary": "val_loss")", R"("_comment": "")")).primary == "loss");
  CHECK(d.parse(good_with(R"("metrics": ["loss", "val_loss", "sink[0]"],)", "")).metrics.empty());
}

TEST_CASE("grid validation names the file and what is wrong", "[experiment][grid]") {
  GridDir d;
  auto fails = [&](const std::string& text, const std::string& needle) {
    INFO(text);
    CHECK_THROWS_WITH(d.parse(text), Contains("grid.json") && Contains(needle));
  };
  fails(good_with(R"("seeds")", R"("seed")"), "unknown key 'seed' in ");
  fails(good_with(R"("seeds")", R"("seed")"), "did you mean 'seeds'?");
  fails(good_with(R"("_comment")", R"("comment")"), "unknown key 'comment' in ");
  fails(good_with(R"("_comment")", R"("comment")"), "grid.json arms[1]");
  fails(good_with(R"({"name": "k_bias")", R"({"name": "softmax")"), "arm name 'softmax' is used twice");
  fails(good_with(R"({"name": "k_bias")", R"({"name": "k/bias")"), "arm name 'k/bias' must be a directory name");
  fails(good_with(R"({"name": "k_bias")", R"({"name": "..")"), "arm name '..' must be a directory name");
  fails(good_with(R"({"name": "k_bias")", R"({"set": {})"), "arms[1]: \"name\" is missing");
  fails(good_with("[1, 2, 3]", "[]"), "\"seeds\" must be a non-empty list");
  fails(good_with("[1, 2, 3]", "[1, 2, 1]"), "seed 1 is listed twice");
  fails(good_with("[1, 2, 3]", "[1, 2.5]"), "seed 2.5 is not a non-negative integer");
  fails(good_with("configs/base.json", "configs/nope.json"), "base config 'configs/nope.json' not found");
  fails(good_with(R"("arms": [)", R"("arms": [7, )"), "arms[0]: an arm must be an object");
  fails(good_with(R"("train.steps": 6)", R"("run_dir": "x")"), "may not set 'run_dir': the runner sets it");
  fails(good_with(R"("train.steps": 6)", R"("model.seed": 3)"), "may not set 'model.seed': it is a seed key");
  fails(good_with(R"("sink[0]")", R"("sink[x]")"), "metric \"sink[x]\" is not a metrics.jsonl key");
  fails(good_with(R"("primary": "val_loss")", R"("primary": "val_los")"),
        "\"primary\" 'val_los' is not one of \"metrics\"; did you mean 'val_loss'?");
  fails(good_with(R"("name": "sinks")", R"("name": "my sinks")"), "\"name\" 'my sinks' must be a directory name");
  fails(R"([1, 2])", "a grid must be a JSON object");
}

TEST_CASE("metric references: key or key[i]", "[experiment][grid]") {
  using experiment::parse_metric_ref;
  CHECK(parse_metric_ref("loss")->key == "loss");
  CHECK(!parse_metric_ref("loss")->index);
  CHECK(parse_metric_ref("sink[12]")->key == "sink");
  CHECK(*parse_metric_ref("sink[12]")->index == 12);
  for (const char* bad : {"", "[1]", "sink[]", "sink[1", "sink]", "sink[-1]", "sink[1]x"}) {
    INFO(bad);
    CHECK(!parse_metric_ref(bad));
  }
}

TEST_CASE("runs: one per (arm, seed), configs checked through pretrain's loader", "[experiment][grid]") {
  GridDir d;
  const auto g = d.parse(kGood);
  const auto runs = experiment::expand_runs(g, d.dir / "out");
  REQUIRE(runs.size() == 6);
  CHECK(runs[0].id() == "softmax/seed_1");  // seed-major: every arm of seed 1 first
  CHECK(runs[1].id() == "k_bias/seed_1");
  CHECK(runs[2].id() == "softmax/seed_2");
  CHECK(runs[1].run_dir == d.dir / "out" / "k_bias" / "seed_1");
  CHECK(runs[1].log == d.dir / "out" / "k_bias" / "seed_1.log");
  // values travel as JSON, so strings stay strings; grid, arm, seed keys, run_dir in that order (keys of one "set"
  // in sorted order: a whole object before the keys inside it)
  CHECK(runs[1].sets == std::vector<std::string>{"model.attention=\"softmax\"", "train.steps=6", "model.slot=\"k\"",
                                                 "model.seed=1", "train.seed=1",
                                                 "run_dir=\"" + runs[1].run_dir.string() + "\""});
  CHECK(runs[1].config["model"]["slot"] == "k");
  CHECK(runs[1].config["train"]["steps"] == 6);
  CHECK(runs[3].config["model"]["seed"] == 2);
  CHECK(runs[3].config["train"]["seed"] == 2);

  const auto cmd = experiment::pretrain_command("/bin/pretrain", g.base, runs[1], experiment::RunState::start, 3);
  CHECK(cmd[1] == "--config");
  CHECK(cmd.back() == "train.threads=3");  // no --overwrite: the run directory does not exist yet
  const auto resume = experiment::pretrain_command("/bin/pretrain", g.base, runs[1], experiment::RunState::resume, 3);
  CHECK(resume[1] == "--resume");
  CHECK(resume[2] == runs[1].run_dir.string());

  // Paths in "set" are relative to the grid file, by pretrain's rule for paths in configs.
  io::write_file_atomic(d.dir / "corpus.txt", std::string_view("text"));
  const auto with_data = d.parse(good_with(R"("train.steps": 6)", R"("data.train": "corpus.txt")"));
  const auto data_run = experiment::expand_runs(with_data, d.dir / "out").front();
  CHECK(data_run.sets[0] == "data.train=\"" + (d.dir / "corpus.txt").string() + "\"");
  CHECK(data_run.config["data"]["train"] == io::Json::array({(d.dir / "corpus.txt").string()}));

  // A key pretrain does not know fails before anything runs, naming the arm and the nearest key.
  const auto typo = d.parse(good_with(R"("model.slot": "k")", R"("model.slt": "k")"));
  CHECK_THROWS_WITH(experiment::expand_runs(typo, d.dir / "out"),
                    Contains("arm 'k_bias'") && Contains("model.slt") && Contains("did you mean 'slot'"));
  const auto bad_type = d.parse(good_with(R"("train.steps": 6)", R"("train.steps": "six")"));
  CHECK_THROWS_WITH(experiment::expand_runs(bad_type, d.dir / "out"), Contains("\"set\"") && Contains("train.steps"));
  const auto bad_seed_key = d.parse(good_with(R"("seeds": [1, 2, 3])", R"("seeds": [1], "seed_keys": ["train.sed"])"));
  CHECK_THROWS_WITH(experiment::expand_runs(bad_seed_key, d.dir / "out"),
                    Contains("seed_keys") && Contains("train.sed"));
}

TEST_CASE("a run directory's state: start, resume, done, stale", "[experiment][grid]") {
  GridDir d;
  const auto g = d.parse(kGood);
  const auto run = experiment::expand_runs(g, d.dir / "out").front();
  using experiment::RunState;
  CHECK(experiment::inspect_run(run).state == RunState::start);
  fs::create_directories(run.run_dir / "checkpoints");
  io::write_file_atomic(run.run_dir / "checkpoints" / "latest", std::string_view("step_4\n"));
  io::write_file_atomic(run.run_dir / "metrics.jsonl", std::string_view("{\"step\": 2}\n{\"step\": 4}\n"));
  auto st = experiment::inspect_run(run);
  CHECK(st.state == RunState::resume);
  CHECK(st.last_step == 4);
  CHECK(st.steps == 6);
  CHECK(experiment::pretrain_command("p", g.base, run, st.state, 1)[1] == "--resume");
  // final/ alone is not enough: metrics.jsonl must reach train.steps
  fs::create_directories(run.run_dir / "final");
  io::write_file_atomic(run.run_dir / "final" / "model.safetensors", std::string_view("x"));
  CHECK(experiment::inspect_run(run).state == RunState::resume);
  io::write_file_atomic(run.run_dir / "metrics.jsonl", std::string_view("{\"step\": 4}\n{\"step\": 6, \"loss\": 1}\n"));
  CHECK(experiment::inspect_run(run).state == RunState::done);
  // a config.json that differs from the grid's (not in run_dir, threads or a smaller train.steps) is stale
  io::Json stored = run.config;
  stored["train"]["threads"] = 7;
  stored["train"]["steps"] = 3;
  io::write_file_atomic(run.run_dir / "config.json", stored.dump());
  CHECK(experiment::inspect_run(run).stale.empty());
  stored["model"]["attention"] = "sigmoid";
  io::write_file_atomic(run.run_dir / "config.json", stored.dump());
  st = experiment::inspect_run(run);
  REQUIRE(st.stale.size() == 1);
  CHECK_THAT(st.stale[0], Contains("model.attention") && Contains("sigmoid"));
  // a directory without checkpoints is started again over what is there
  fs::remove_all(run.run_dir / "checkpoints");
  fs::remove_all(run.run_dir / "final");
  CHECK(experiment::inspect_run(run).state == RunState::start);
  CHECK(experiment::pretrain_command("p", g.base, run, RunState::start, 1).back() == "--overwrite");
}
