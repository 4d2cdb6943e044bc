#include <catch2/catch.hpp>

#include "sinklab/io/config.hpp"
#include "tmpdir.hpp"
#include "support/error_of.hpp"

using namespace sinklab;
using io::Json;

namespace {
Json defaults() {
  return Json::parse(R"({"train": {"lr": 4e-4, "steps": 100, "lr_schedule": "constant", "warmup": 10},
                         "model": {"attention": "softmax", "layers": 2, "extra": {}}, "seed": 0, "notes": null})");
}
using sinklab::test::error_of;
}  // namespace

TEST_CASE("nearest and levenshtein", "[io][config]") {
  CHECK(io::levenshtein("kitten", "sitting") == 3);
  CHECK(io::levenshtein("", "abc") == 3);
  const std::vector<std::string> names = {"lr", "lr_schedule", "steps", "warmup"};
  CHECK(io::nearest(names, "lr_schdule") == std::vector<std::string>{"lr_schedule"});
  CHECK(io::nearest(names, "stpes").front() == "steps");
  CHECK(io::nearest(names, "completely_unrelated").empty());
  CHECK(io::did_you_mean(names, "warmpu") == "; did you mean 'warmup'?");
}

TEST_CASE("load_json reports file, line and column", "[io][config]") {
  test::TempDir dir("cfg");
  const auto p = dir / "run.json";
  io::write_file_atomic(p, std::string_view("{\n  \"a\": 1,\n  \"b\": ,\n}\n"));
  const auto msg = error_of([&] { io::load_json(p); });
  CHECK_THAT(msg, Catch::Contains("run.json:3:8"));
}

TEST_CASE("--set overrides parse JSON values or fall back to strings", "[io][config]") {
  Json cfg = Json::object();
  io::apply_override(cfg, "train.lr=0.001");
  io::apply_override(cfg, "model.attention=softmax_divS_gatev2");
  io::apply_override(cfg, "model.layers=4");
  io::apply_override(cfg, "notes=[1,2]");
  io::apply_override(cfg, "train.lr_schedule=\"cosine\"");
  CHECK(cfg["train"]["lr"].get<double>() == 0.001);
  CHECK(cfg["model"]["attention"] == "softmax_divS_gatev2");
  CHECK(cfg["model"]["layers"] == 4);
  CHECK(cfg["notes"] == Json::array({1, 2}));
  CHECK(cfg["train"]["lr_schedule"] == "cosine");
  CHECK_THROWS_WITH(io::apply_override(cfg, "novalue"), Catch::Contains("key.sub=value"));
}

TEST_CASE("check_config: unknown keys suggest the nearest, type mismatches name the key", "[io][config]") {
  const auto d = defaults();
  CHECK_THAT(error_of([&] { io::check_config(Json::parse(R"({"train": {"lr_schdule": "x"}})"), d, "run.json"); }),
             Catch::StartsWith("unknown key 'train.lr_schdule' in run.json; did you mean 'lr_schedule'?"));
  CHECK_THAT(error_of([&] { io::check_config(Json::parse(R"({"train": {"steps": "many"}})"), d, "run.json"); }),
             Catch::Contains("key 'train.steps'") && Catch::Contains("must be integer"));
  CHECK_THAT(error_of([&] { io::check_config(Json::parse(R"({"model": {"layers": 2.5}})"), d, "run.json"); }),
             Catch::Contains("model.layers"));
  CHECK_NOTHROW(
      io::check_config(Json::parse(R"({"train": {"lr": 1}, "notes": "x", "model": {"extra": {"k": 1}}})"), d, "f"));
}

TEST_CASE("resolve_config merges defaults, file and overrides", "[io][config]") {
  test::TempDir dir("cfg");
  const auto p = dir / "run.json";
  io::write_file_atomic(p, std::string_view(R"({"train": {"steps": 500}, "seed": 3})"));
  const std::vector<std::string> sets = {"train.lr=0.01", "seed=7"};
  const auto cfg = io::resolve_config(defaults(), p, sets);
  CHECK(cfg["train"]["steps"] == 500);
  CHECK(cfg["train"]["lr"].get<double>() == 0.01);
  CHECK(cfg["train"]["warmup"] == 10);
  CHECK(cfg["seed"] == 7);
  const std::vector<std::string> bad = {"trian.lr=1"};
  CHECK_THAT(error_of([&] { io::resolve_config(defaults(), p, bad); }),
             Catch::Contains("unknown key 'trian' in --set; did you mean 'train'?"));
}
