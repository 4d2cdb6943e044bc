#pragma once
// A grid of arms "a" and "b" x seeds 1 and 2 (4 steps each) over a base config in a temp dir, and run directories
// written by hand as pretrain would leave them.
#include <catch2/catch.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "io/tmpdir.hpp"
#include "sinklab/experiment/grid.hpp"
#include "sinklab/experiment/plan.hpp"
#include "sinklab/io/atomic_file.hpp"

namespace sinklab::test {
struct GridFixture {
  TempDir dir{"experiment"};
  experiment::Grid grid;
  std::vector<experiment::RunSpec> runs;
  GridFixture() {
    io::write_file_atomic(dir / "base.json", std::string_view(R"({"train": {"steps": 4}})"));
    grid = experiment::parse_grid(
        io::parse_json(R"({"name": "g", "base": "base.json", "arms": [{"name": "a"}, {"name": "b"}],
                                         "seeds": [1, 2], "metrics": ["loss", "val_loss", "sink1", "sink[1]"]})",
                       "grid.json"),
        dir / "grid.json");
    runs = experiment::expand_runs(grid, dir / "out");
  }
  const experiment::RunSpec& run(const std::string& id) const {
    for (const auto& r : runs)
      if (r.id() == id) return r;
    FAIL("no run " << id);
    return runs.front();
  }
  // Writes metrics.jsonl (and, when `finished`, final/ and config.json as pretrain leaves them).
  void write_run(const std::string& id, const std::string& metrics, bool finished) const {
    const experiment::RunSpec& r = run(id);
    std::filesystem::create_directories(r.run_dir / "final");
    io::write_file_atomic(r.run_dir / "metrics.jsonl", std::string_view(metrics));
    io::write_file_atomic(r.run_dir / "config.json", r.config.dump());
    if (finished) io::write_file_atomic(r.run_dir / "final" / "model.safetensors", std::string_view("x"));
  }
};

// Three metrics.jsonl lines ending at step 4 with the given final values.
inline std::string lines(double loss4, double val4, double sink4) {
  std::ostringstream os;
  os << "{\"step\": 2, \"loss\": 3.0, \"val_loss\": 3.5, \"sink1\": 0.0, \"sink\": [0.0, 1.0]}\n"
     << "{\"step\": 3, \"loss\": 2.5}\n"
     << "{\"step\": 4, \"loss\": " << loss4 << ", \"val_loss\": " << val4 << ", \"sink1\": " << sink4 << ", \"sink\": ["
     << sink4 << ", 2.0]}\n";
  return os.str();
}
}  // namespace sinklab::test
