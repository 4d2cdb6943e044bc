// sinklab-pretrain --config FILE [--set key=value ...] [--resume RUN_DIR] [--overwrite]
// LLaMA-style LM pretraining; every architectural, data and optimiser switch is a config key (--help lists them).
#include <csignal>
#include <regex>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "sinklab/train/trainer.hpp"

namespace fs = std::filesystem;
using namespace sinklab;

static void usage(std::ostream& os) {
  os << "usage: sinklab-pretrain --config FILE [--set key=value ...] [--overwrite]\n"
        "       sinklab-pretrain --resume RUN_DIR [--set key=value ...]\n\n"
        "Trains a LLaMA-style LM on the CPU. A config is JSON; \"base\" names a config it extends. --set overrides one\n"
        "key (dotted path; the value is parsed as JSON when it parses, else taken as a string). An interrupted run\n"
        "(Ctrl-C / SIGTERM) saves a checkpoint; --resume continues it exactly.\n\nkeys (default):\n";
  const auto defaults = train::default_config();
  for (const auto& k : train::key_docs()) {
    const std::string key = k.key;
    auto ptr = nlohmann::json::json_pointer("/" + std::regex_replace(key, std::regex("\\."), "/"));
    os << "  " << key;
    if (defaults.contains(ptr)) os << " (" << defaults.at(ptr).dump() << ")";
    os << "\n      " << k.doc << "\n";
  }
}

int main(int argc, char** argv) {
  std::string config_file, resume_dir;
  std::vector<std::string> sets;
  bool overwrite = false;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto value = [&]() -> std::string {
        SINKLAB_CHECK(i + 1 < argc, "option ", a, " needs a value");
        return argv[++i];
      };
      if (a == "--help" || a == "-h") {
        usage(std::cout);
        return 0;
      } else if (a == "--config") {
        config_file = value();
      } else if (a == "--set") {
        sets.push_back(value());
      } else if (a == "--resume") {
        resume_dir = value();
      } else if (a == "--overwrite") {
        overwrite = true;
      } else {
        SINKLAB_FAIL("unknown option '", a, "' (see --help)");
      }
    }
    SINKLAB_CHECK(!config_file.empty() || !resume_dir.empty(), "give --config FILE or --resume RUN_DIR (see --help)");
    io::Json cfg;
    if (!resume_dir.empty()) {
      const fs::path stored = fs::path(resume_dir) / "config.json";
      SINKLAB_CHECK(fs::exists(stored), resume_dir, ": no config.json; is this a run directory?");
      cfg = train::load_config(stored, sets);
      cfg["run_dir"] = resume_dir;
    } else {
      cfg = train::load_config(config_file, sets);
      const fs::path run = cfg["run_dir"].get<std::string>();
      if (fs::exists(run / "checkpoints")) {
        SINKLAB_CHECK(overwrite, "run_dir '", run.string(), "' already holds checkpoints; pass --resume ", run.string(),
                      " to continue it or --overwrite to start again");
        fs::remove_all(run / "checkpoints");
        fs::remove_all(run / "final");
      }
    }
    std::signal(SIGINT, [](int) { train::stop_requested() = true; });
    std::signal(SIGTERM, [](int) { train::stop_requested() = true; });
    train::Trainer trainer(cfg, !resume_dir.empty());
    const auto& m = trainer.model();
    std::cerr << "sinklab-pretrain: " << m.num_parameters() << " parameters, attention '" << m.config().attention
              << "', " << num_threads() << " threads, run_dir " << cfg["run_dir"].get<std::string>() << "\n";
    const auto r = trainer.run();
    std::cerr << "sinklab-pretrain: step " << r.steps_done << ", loss " << r.last_loss;
    if (r.last_val_loss >= 0) std::cerr << ", val_loss " << r.last_val_loss;
    std::cerr << "\n";
    return r.interrupted ? 130 : 0;
  } catch (const std::exception& e) {
    std::cerr << "sinklab-pretrain: error: " << e.what() << "\n";
    return 2;
  }
}
