#include <catch2/catch.hpp>
#include <fstream>

#include "tiny_run.hpp"

using namespace sinklab;
namespace fs = std::filesystem;

TEST_CASE("config: base chains, overrides and unknown keys", "[train]") {
  const auto dir = tiny::fresh_dir("config");
  std::ofstream(dir / "base.json") << R"({"model": {"d_model": 64, "n_layers": 3}, "optim": {"lr": 0.001}})";
  std::ofstream(dir / "child.json") << R"({"base": "base.json", "model": {"n_layers": 5}})";
  const auto c = train::load_config(dir / "child.json", {"optim.lr=0.5", "model.attention=sigmoid"});
  CHECK(c["model"]["d_model"] == 64);
  CHECK(c["model"]["n_layers"] == 5);
  CHECK(c["optim"]["lr"].get<double>() == 0.5);
  CHECK(c["model"]["attention"] == "sigmoid");
  CHECK(c["optim"]["beta2"].get<double>() == 0.95);  // untouched defaults survive
  std::ofstream(dir / "typo.json") << R"({"optim": {"weight_decy": 0.1}})";
  CHECK_THROWS_WITH(train::load_config(dir / "typo.json", {}),
                    Catch::Contains("weight_decy") && Catch::Contains("weight_decay") && Catch::Contains("typo.json"));
  CHECK_THROWS_WITH(train::load_config(dir / "child.json", {"train.stepz=3"}), Catch::Contains("steps"));
  // data.train as one path is the list of that path
  const auto one = train::load_config(dir / "child.json", {"data.train=corpus.txt"});
  CHECK(one["data"]["train"] == io::Json::array({"corpus.txt"}));
  std::ofstream(dir / "loop.json") << R"({"base": "loop.json"})";
  CHECK_THROWS_WITH(train::load_config(dir / "loop.json", {}), Catch::Contains("loops"));
  fs::remove_all(dir);
}

TEST_CASE("config: every shipped config resolves and builds a valid model config", "[train]") {
  const fs::path configs = fs::path(SINKLAB_SOURCE_DIR) / "configs";
  int n = 0;
  for (const auto& e : fs::recursive_directory_iterator(configs)) {
    if (e.path().extension() != ".json") continue;
    INFO(e.path().string());
    const auto c = train::load_config(e.path(), {});
    const auto mc = nn::model_config_from_json(c["model"]);
    CHECK_NOTHROW(attention::variant_index(mc.attention));
    ++n;
  }
  CHECK(n > 90);
}
