#pragma once
// What each run produced: from its metrics.jsonl (one object per line, keyed by "step"; a key may appear on some
// lines only, as val_loss and the probe metrics do) the final value of every requested metric — the value on the
// last line that has it — and its curve (step, value); with the run's outcome and wall time from the runner's log.
// A metric a run never logged is missing, never 0. Lists (the per-k "sink") count only as "key[i]".
#include <cmath>
#include <csignal>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "sinklab/experiment/grid.hpp"
#include "sinklab/experiment/plan.hpp"
#include "sinklab/experiment/run_log.hpp"
#include "sinklab/io/metrics.hpp"

namespace sinklab::experiment {

struct Curve {
  std::vector<double> step, value;
};

struct RunMetrics {
  std::map<std::string, double> final;  // metric -> final value; a metric that is absent is missing
  std::map<std::string, Curve> curves;  // metric -> its points on lines that have a "step"
  std::vector<std::string> notes;       // why a requested metric is missing although its key is there
};

// The number `ref` names in one record: rec[key] when it is a number, entry i of rec[key] for key[i].
inline std::optional<double> metric_value(const io::Json& rec, const MetricRef& ref) {
  if (!rec.is_object() || !rec.contains(ref.key)) return std::nullopt;
  const io::Json& v = rec[ref.key];
  if (ref.index) {
    if (v.is_array() && *ref.index < v.size() && v[*ref.index].is_number()) return v[*ref.index].get<double>();
    return std::nullopt;
  }
  return v.is_number() ? std::optional<double>(v.get<double>()) : std::nullopt;
}

// Appends to `metrics` the keys with a number on some record (not "step": it is the x axis), first seen first.
inline void discover_metrics(std::span<const io::Json> records, std::vector<std::string>& metrics) {
  for (const auto& rec : records) {
    if (!rec.is_object()) continue;
    for (const auto& [k, v] : rec.items())
      if (k != "step" && v.is_number() && std::find(metrics.begin(), metrics.end(), k) == metrics.end())
        metrics.push_back(k);
  }
}

// The metrics a report covers: the grid's "metrics", or else every numeric key the runs' metrics.jsonl hold (with
// "primary" first when the grid names one).
inline std::vector<std::string> metrics_to_report(const Grid& g, std::span<const RunSpec> runs) {
  if (!g.metrics.empty()) return g.metrics;
  std::vector<std::string> out;
  if (!g.primary.empty()) out.push_back(g.primary);
  for (const auto& r : runs)
    if (fs::exists(r.run_dir / "metrics.jsonl")) discover_metrics(io::read_metrics(r.run_dir / "metrics.jsonl"), out);
  return out;
}

// Final values and curves of `metrics` in `records`; `source` names the file in notes.
inline RunMetrics extract_metrics(std::span<const io::Json> records, std::span<const std::string> metrics,
                                  const std::string& source) {
  RunMetrics out;
  for (const auto& name : metrics) {
    const auto ref = parse_metric_ref(name);
    SINKLAB_CHECK(ref, "metric '", name, "' is not a metrics.jsonl key or \"key[i]\"");
    Curve curve;
    std::optional<double> last;
    bool key_seen = false;
    for (const auto& rec : records) {
      key_seen = key_seen || (rec.is_object() && rec.contains(ref->key));
      const auto v = metric_value(rec, *ref);
      if (!v) continue;
      last = v;
      if (rec.contains("step") && rec["step"].is_number()) {
        curve.step.push_back(rec["step"].get<double>());
        curve.value.push_back(*v);
      }
    }
    if (last) {
      out.final[name] = *last;
      out.curves[name] = std::move(curve);
    } else if (key_seen) {
      out.notes.push_back(
          source + ": '" + ref->key + "' is there but " +
          (ref->index ? "has no number at index " + std::to_string(*ref->index)
                      : std::string("is not a number (for an entry of a list ask for '") + ref->key + "[i]')"));
    }
  }
  return out;
}

enum class Outcome { done, failed, interrupted, incomplete, not_run, stale };

inline const char* to_string(Outcome o) {
  switch (o) {
    case Outcome::done:
      return "done";
    case Outcome::failed:
      return "failed";
    case Outcome::interrupted:
      return "interrupted";
    case Outcome::incomplete:
      return "incomplete";
    case Outcome::not_run:
      return "not run";
    case Outcome::stale:
      return "stale";
  }
  return "?";
}

struct RunResult {
  std::string arm;
  int64_t seed = 0;
  fs::path run_dir;
  Outcome outcome = Outcome::not_run;
  std::string detail;  // "exit 2", "at step 120 of 600", the stale keys, ...
  int64_t last_step = -1, steps = 0;
  std::optional<int> exit_code;  // of the last attempt the runner logged
  std::optional<double> wall_s;  // summed over attempts since the last start from scratch
  std::vector<std::string> commits;
  RunMetrics metrics;
  bool complete() const { return outcome == Outcome::done; }
};

// Everything known about one run now: its directory's state, the runner's log of it, and its metrics.
inline RunResult collect_run(const RunSpec& spec, const RunStatus& status, const RunHistory* history,
                             std::span<const std::string> metrics) {
  RunResult r;
  r.arm = spec.arm;
  r.seed = spec.seed;
  r.run_dir = spec.run_dir;
  r.last_step = status.last_step;
  r.steps = status.steps;
  if (history) r.exit_code = history->last_exit, r.wall_s = history->wall_s, r.commits = history->commits;
  if (!status.stale.empty()) {
    r.outcome = Outcome::stale;
    r.detail =
        status.stale.front() + (status.stale.size() > 1 ? " (+" + std::to_string(status.stale.size() - 1) + ")" : "");
  } else if (status.state == RunState::done) {
    r.outcome = Outcome::done;
  } else if (r.exit_code && (*r.exit_code == 130 || *r.exit_code == 128 + SIGTERM)) {  // Ctrl-C or SIGTERM
    r.outcome = Outcome::interrupted;
  } else if (r.exit_code && *r.exit_code != 0) {
    r.outcome = Outcome::failed;
    r.detail = "exit " + std::to_string(*r.exit_code);
  } else {
    r.outcome = status.last_step >= 0 ? Outcome::incomplete : Outcome::not_run;
  }
  if (r.outcome == Outcome::interrupted || r.outcome == Outcome::incomplete || r.outcome == Outcome::failed)
    if (status.last_step >= 0)
      r.detail += (r.detail.empty() ? "" : ", ") + std::string("at step ") + std::to_string(status.last_step) + " of " +
                  std::to_string(status.steps);
  const fs::path file = spec.run_dir / "metrics.jsonl";
  if (fs::exists(file)) r.metrics = extract_metrics(io::read_metrics(file), metrics, file.string());
  return r;
}

}  // namespace sinklab::experiment
