// sinklab-experiment GRID.json [--out DIR] [--jobs N] [--threads T] [--report DIR] [--pretrain PATH] [--dry-run]
//                    [--report-only]
// Runs a grid of pretraining runs (arms x seeds) with sinklab-pretrain and writes tables and figures of the results.
#include <iostream>
#include <string>
#include <vector>

#include "sinklab/experiment/run_grid.hpp"

using namespace sinklab;

static const char* kUsage =
    "usage: sinklab-experiment GRID.json [--out DIR] [--jobs N] [--threads T] [--report DIR] [--pretrain PATH]\n"
    "                          [--dry-run] [--report-only]\n\n"
    "Runs every (arm, seed) of the grid as a sinklab-pretrain process, then writes results.{json,csv,md} and\n"
    "final_<metric>.svg / curve_<metric>.svg (+ .csv) into --out. Running the same command again skips finished runs,\n"
    "resumes interrupted ones from their latest checkpoint and starts the rest.\n\n"
    "  --out DIR        run directories and results (default runs/experiments/<name>)\n"
    "  --jobs N         pretrain processes at a time (default 1)\n"
    "  --threads T      train.threads of each (default max(1, cores / jobs))\n"
    "  --report DIR     also write the results here (for committing)\n"
    "  --pretrain PATH  the sinklab-pretrain to run (default: next to this program, then PATH)\n"
    "  --dry-run        print the commands, run nothing\n"
    "  --report-only    rebuild the results from the run directories, run nothing\n\n"
    "GRID.json: {\"name\", \"title\", \"description\", \"base\": pretrain config (relative to the grid file),\n"
    "  \"set\": {\"key\": value} for every arm, \"arms\": [{\"name\", \"set\"}], \"seeds\": [1, 2, 3],\n"
    "  \"seed_keys\": [\"model.seed\", \"train.seed\"], \"metrics\": [\"loss\", \"val_loss\", \"sink1\", "
    "\"sink[1]\"],\n"
    "  \"primary\": \"sink1\"}\n";

// A positive integer option, with an error that names it.
static int positive_int(const std::string& option, const std::string& v) {
  std::size_t used = 0;
  long x = 0;
  try {
    x = std::stol(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  SINKLAB_CHECK(used == v.size() && !v.empty() && x >= 1 && x <= 4096, option, ": expected a positive integer, got '",
                v, "'");
  return static_cast<int>(x);
}

int main(int argc, char** argv) {
  try {
    experiment::RunnerOptions opt;
    opt.argv.assign(argv, argv + argc);
    opt.source_dir = SINKLAB_SOURCE_DIR;
    std::string grid_file;
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto value = [&]() -> std::string {
        SINKLAB_CHECK(i + 1 < argc, "option ", a, " needs a value");
        return argv[++i];
      };
      if (a == "--help" || a == "-h") {
        std::cout << kUsage;
        return 0;
      } else if (a == "--out") {
        opt.out = value();
      } else if (a == "--jobs") {
        opt.jobs = positive_int(a, value());
      } else if (a == "--threads") {
        opt.threads = positive_int(a, value());
      } else if (a == "--report") {
        opt.report_dir = value();
      } else if (a == "--pretrain") {
        opt.pretrain = value();
      } else if (a == "--dry-run") {
        opt.dry_run = true;
      } else if (a == "--report-only") {
        opt.report_only = true;
      } else if (a.rfind("-", 0) == 0) {
        static const std::vector<std::string> known = {"--out",      "--jobs",    "--threads",     "--report",
                                                       "--pretrain", "--dry-run", "--report-only", "--help"};
        SINKLAB_FAIL("unknown option '", a, "'", io::did_you_mean(known, a), " (see --help)");
      } else {
        SINKLAB_CHECK(grid_file.empty(), "one grid file at a time: got '", grid_file, "' and '", a, "'");
        grid_file = a;
      }
    }
    SINKLAB_CHECK(!grid_file.empty(), "give a grid file (see --help)");
    SINKLAB_CHECK(!(opt.dry_run && opt.report_only), "--dry-run and --report-only exclude each other");
    return experiment::run_grid(experiment::load_grid(grid_file), opt, std::cout, std::cerr);
  } catch (const std::exception& e) {
    std::cerr << "sinklab-experiment: error: " << e.what() << "\n";
    return 2;
  }
}
