#pragma once
// The runner's own log, <out>/runner.jsonl: one JSON object per event, appended and flushed as it happens, so a
// grid killed half-way still knows what ran. Events:
//   {"event": "start", "run": "softmax/seed_1", "mode": "start"|"resume", "utc": ..., "command": "..."}
//   {"event": "end", "run": ..., "mode": ..., "exit": 0, "wall_s": 12.5, "utc": ..., "commit": "9fe06ee1a2b3"}
//   {"event": "invocation", "wall_s": 30.1, "exit": 0, "stamp": {...}}     (when a runner that ran jobs exits)
// A run's wall time is the sum of its attempts since it was last started from scratch (a resume adds to it).
#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sinklab/experiment/stamp.hpp"
#include "sinklab/io/metrics.hpp"

namespace sinklab::experiment {

struct RunHistory {
  int starts = 0;                    // attempts, from scratch or resumed
  std::optional<double> wall_s;      // since the last start from scratch; empty before any attempt ended
  std::optional<int> last_exit;      // of the last attempt that ended
  std::vector<std::string> commits;  // sinklab commits of those attempts, first-seen order
};

struct GridHistory {
  std::map<std::string, RunHistory> runs;  // by run id ("arm/seed_N")
  double wall_s = 0;                       // summed over the invocations that ran jobs
};

class RunLog {
 public:
  RunLog(const fs::path& path, Stamp stamp) : writer_(path), stamp_(std::move(stamp)) {}

  void started(const std::string& run, const std::string& mode, const std::string& command) {
    writer_.write({{"event", "start"}, {"run", run}, {"mode", mode}, {"utc", utc_now()}, {"command", command}});
  }
  void finished(const std::string& run, const std::string& mode, int exit_code, double wall_s) {
    writer_.write({{"event", "end"},
                   {"run", run},
                   {"mode", mode},
                   {"exit", exit_code},
                   {"wall_s", wall_s},
                   {"utc", utc_now()},
                   {"commit", short_commit(stamp_)}});
  }
  void invocation(double wall_s, int exit_code) {
    writer_.write({{"event", "invocation"}, {"wall_s", wall_s}, {"exit", exit_code}, {"stamp", to_json(stamp_)}});
  }

 private:
  io::MetricsWriter writer_;
  Stamp stamp_;
};

// Replays runner.jsonl; an absent file is an empty history (runs trained by hand).
inline GridHistory read_history(const fs::path& path) {
  GridHistory h;
  if (!fs::exists(path)) return h;
  for (const auto& e : io::read_metrics(path)) {
    const std::string event = e.value("event", "");
    if (event == "invocation") {
      h.wall_s += e.value("wall_s", 0.0);
      continue;
    }
    if (!e.contains("run") || !e["run"].is_string()) continue;
    RunHistory& r = h.runs[e["run"].get<std::string>()];
    if (event == "start") {
      ++r.starts;
      r.last_exit.reset();  // this attempt's end, if it is ever logged, says how it went
      if (e.value("mode", "") == "start") r.wall_s.reset(), r.commits.clear();
    } else if (event == "end") {
      r.wall_s = r.wall_s.value_or(0.0) + e.value("wall_s", 0.0);
      r.last_exit = e.value("exit", -1);
      const std::string c = e.value("commit", "");
      if (!c.empty() && std::find(r.commits.begin(), r.commits.end(), c) == r.commits.end()) r.commits.push_back(c);
    }
  }
  return h;
}

}  // namespace sinklab::experiment
