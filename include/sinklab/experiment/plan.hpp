#pragma once
// From a grid to runs: one run per (arm, seed) with its run directory and `--set` overrides, each resolved once
// through the same loader pretrain uses (so a misspelt key fails here, before anything runs, naming the arm); then
// what a run directory already holds decides whether a run is done, resumed from its latest checkpoint, or started.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "sinklab/experiment/grid.hpp"
#include "sinklab/io/metrics.hpp"
#include "sinklab/train/config.hpp"

namespace sinklab::experiment {

struct RunSpec {
  std::string arm;
  int64_t seed = 0;
  fs::path run_dir;               // <out>/<arm>/seed_<seed>
  fs::path log;                   // <run_dir>.log: a sibling, so it survives pretrain's --overwrite
  std::vector<std::string> sets;  // "key=<json>" for --set, in order: grid, arm, seed keys, run_dir
  io::Json config;                // the config pretrain resolves from `sets` (train.threads aside)
  std::string id() const { return arm + "/seed_" + std::to_string(seed); }
};

enum class RunState { done, resume, start };

inline const char* to_string(RunState s) {
  return s == RunState::done ? "done" : s == RunState::resume ? "resume" : "start";
}

struct RunStatus {
  RunState state = RunState::start;
  int64_t last_step = -1;          // largest "step" in metrics.jsonl; -1 when there is none
  int64_t steps = 0;               // train.steps the grid asks for
  std::vector<std::string> stale;  // keys where the run's config.json differs from the grid's
};

// "key=<json>": the value as JSON text, so strings stay strings ("3" is not 3) whatever they look like.
inline std::string set_arg(const std::string& key, const io::Json& value) { return key + "=" + value.dump(); }

namespace detail {
// A path in `set` is relative to the grid file, as a config's paths are to the config: pretrain's own rule
// (train::detail::resolve_paths) decides which keys hold paths and when a relative one is rewritten.
inline io::Json resolve_set_paths(const std::string& key, const io::Json& value, const fs::path& grid_dir) {
  std::string ptr = "/" + key;
  std::replace(ptr.begin(), ptr.end(), '.', '/');
  try {
    io::Json nested = io::Json::object();
    nested[io::Json::json_pointer(ptr)] = value;
    train::detail::resolve_paths(nested, grid_dir);
    return nested.at(io::Json::json_pointer(ptr));
  } catch (const io::Json::exception&) {
    return value;  // not config-shaped ("data": 3); the schema check names the key
  }
}

// train::load_config on the base with `sets`, its error prefixed by `where` (the grid file and arm).
inline io::Json resolve_or_fail(const Grid& g, const std::vector<std::string>& sets, const std::string& where) {
  try {
    return train::load_config(g.base, sets);
  } catch (const Error& e) {
    SINKLAB_FAIL(where, ": ", e.what());
  }
}

// Leaves of a config as (dotted key, value); arrays are leaves.
inline void flatten(const io::Json& j, const std::string& prefix, std::vector<std::pair<std::string, io::Json>>& out) {
  for (const auto& [k, v] : j.items()) {
    const std::string key = prefix.empty() ? k : prefix + "." + k;
    if (v.is_object() && !v.empty())
      flatten(v, key, out);
    else
      out.emplace_back(key, v);
  }
}
}  // namespace detail

// Every (arm, seed) in seed-major order (each seed of every arm before the next seed, so a partial grid already
// compares arms), with resolved configs. Fails on the first config pretrain would reject.
inline std::vector<RunSpec> expand_runs(const Grid& g, const fs::path& out) {
  const fs::path grid_dir = g.file.parent_path();
  std::vector<std::string> common;
  for (const auto& [k, v] : g.set) common.push_back(set_arg(k, detail::resolve_set_paths(k, v, grid_dir)));
  // The grid's own overrides and the seed keys first, so an error there is not blamed on the first arm.
  {
    std::vector<std::string> probe = common;
    for (const auto& k : g.seed_keys) probe.push_back(set_arg(k, g.seeds.front()));
    detail::resolve_or_fail(g, probe, g.file.string() + " \"set\" / \"seed_keys\" on base " + g.base.string());
  }
  std::vector<RunSpec> runs;
  for (int64_t seed : g.seeds) {
    for (const Arm& arm : g.arms) {
      RunSpec r;
      r.arm = arm.name;
      r.seed = seed;
      r.run_dir = out / arm.name / ("seed_" + std::to_string(seed));
      r.log = out / arm.name / ("seed_" + std::to_string(seed) + ".log");
      r.sets = common;
      for (const auto& [k, v] : arm.set) r.sets.push_back(set_arg(k, detail::resolve_set_paths(k, v, grid_dir)));
      for (const auto& k : g.seed_keys) r.sets.push_back(set_arg(k, seed));
      r.sets.push_back(set_arg("run_dir", r.run_dir.string()));
      r.config = detail::resolve_or_fail(g, r.sets, g.file.string() + " arm '" + arm.name + "'");
      runs.push_back(std::move(r));
    }
  }
  return runs;
}

// Keys where `stored` (a run's config.json) and `wanted` (the grid's config) differ, as "key: <run> -> <grid>".
// run_dir and train.threads are the runner's to choose; a larger train.steps in the grid is what --resume extends.
// A key the run's config lacks (added to pretrain since) is not a difference.
inline std::vector<std::string> config_differences(const io::Json& stored, const io::Json& wanted) {
  std::vector<std::pair<std::string, io::Json>> leaves;
  detail::flatten(wanted, "", leaves);
  std::vector<std::string> out;
  for (const auto& [key, v] : leaves) {
    if (key == "run_dir" || key == "train.threads") continue;
    std::string ptr = "/" + key;
    std::replace(ptr.begin(), ptr.end(), '.', '/');
    const io::Json::json_pointer p(ptr);
    if (!stored.contains(p)) continue;
    const io::Json& s = stored.at(p);
    if (key == "train.steps" && s.is_number_integer() && v.is_number_integer() && s.get<int64_t>() <= v.get<int64_t>())
      continue;
    if (s != v) out.push_back(key + ": " + s.dump() + " in the run, " + v.dump() + " in the grid");
  }
  return out;
}

// Done: final/model.safetensors exists and metrics.jsonl reaches train.steps. Resume: checkpoints/latest exists.
// Otherwise start (with --overwrite when the directory exists). A done or resumable run whose config.json differs
// from the grid's is stale: its results would not be the grid's.
inline RunStatus inspect_run(const RunSpec& r) {
  RunStatus st;
  st.steps = r.config["train"]["steps"].get<int64_t>();
  const fs::path metrics = r.run_dir / "metrics.jsonl";
  if (fs::exists(metrics))
    for (const auto& rec : io::read_metrics(metrics))
      if (rec.is_object() && rec.contains("step") && rec["step"].is_number())
        st.last_step = std::max(st.last_step, rec["step"].get<int64_t>());
  if (fs::exists(r.run_dir / "final" / "model.safetensors") && st.last_step >= st.steps)
    st.state = RunState::done;
  else if (fs::exists(r.run_dir / "checkpoints" / "latest"))
    st.state = RunState::resume;
  if (st.state != RunState::start && fs::exists(r.run_dir / "config.json"))
    st.stale = config_differences(io::load_json(r.run_dir / "config.json"), r.config);
  return st;
}

// The pretrain command line for a run in state `state` (not done) with `threads` threads.
inline std::vector<std::string> pretrain_command(const fs::path& pretrain, const fs::path& base, const RunSpec& r,
                                                 RunState state, int threads) {
  std::vector<std::string> argv = {pretrain.string()};
  if (state == RunState::resume) {
    argv.insert(argv.end(), {"--resume", r.run_dir.string()});
  } else {
    argv.insert(argv.end(), {"--config", base.string()});
  }
  for (const auto& s : r.sets) argv.insert(argv.end(), {"--set", s});
  argv.insert(argv.end(), {"--set", "train.threads=" + std::to_string(threads)});
  if (state == RunState::start && fs::exists(r.run_dir)) argv.push_back("--overwrite");
  return argv;
}

}  // namespace sinklab::experiment
