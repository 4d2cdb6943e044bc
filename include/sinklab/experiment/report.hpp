#pragma once
// The files a grid's results are committed as, all written atomically into one directory:
//   results.json   the grid, the stamp, every run (outcome, wall time, final metrics, curves) and every arm
//                  (mean / sd / n of each final metric, mean curves at the steps all seeds share)
//   results.csv    one row per run: arm, seed, status, wall_s, then one column per metric (empty when missing)
//   results.md     title, description, stamp, wall time, the per-arm and per-run tables, the headline figures
//   final_<metric>.svg / curve_<metric>.svg (+ .csv): bars of the final value per arm (± sd, seeds as dots) and
//                  the mean curve against step, one line per arm
#include <cmath>
#include <filesystem>
#include <limits>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "sinklab/experiment/aggregate.hpp"
#include "sinklab/experiment/grid.hpp"
#include "sinklab/experiment/stamp.hpp"
#include "sinklab/experiment/tables.hpp"
#include "sinklab/io/atomic_file.hpp"
#include "sinklab/io/metrics.hpp"
#include "sinklab/io/plot.hpp"

namespace sinklab::experiment {

struct Report {
  const Grid* grid = nullptr;
  std::vector<std::string> metrics;
  std::string primary;                                             // one of metrics, or empty when there are none
  std::vector<RunResult> runs;                                     // arm by arm, seeds in grid order
  std::vector<ArmSummary> arms;                                    // in grid order
  Stamp stamp;                                                     // of the command that wrote the report
  double wall_s_total = std::numeric_limits<double>::quiet_NaN();  // the grid's invocations, summed
};

// "sink[0]" -> "sink_0": metric names as file-name parts.
inline std::string metric_file_part(const std::string& metric) {
  std::string out;
  for (char c : metric) {
    if (c == ']') continue;
    out += is_safe_name(std::string(1, c)) ? c : '_';
  }
  return out;
}

namespace detail {
inline io::Json number_or_null(double v, bool known) { return known ? io::Json(v) : io::Json(nullptr); }

inline io::Json stat_json(const Stat& s) {
  return {{"mean", number_or_null(s.mean, s.n > 0)}, {"sd", number_or_null(s.sd, s.n > 1)}, {"n", s.n}};
}

inline double run_wall_sum(const Report& r) {
  double sum = 0;
  for (const auto& run : r.runs) sum += run.wall_s.value_or(0.0);
  return sum;
}
}  // namespace detail

inline io::Json results_json(const Report& r) {
  const Grid& g = *r.grid;
  io::Json runs = io::Json::array(), arms = io::Json::array();
  for (const auto& run : r.runs) {
    io::Json final = io::Json::object(), curves = io::Json::object();
    for (const auto& m : r.metrics) {
      const auto it = run.metrics.final.find(m);
      final[m] = it == run.metrics.final.end() ? io::Json(nullptr) : io::Json(it->second);
      if (it != run.metrics.final.end())
        curves[m] = {{"step", run.metrics.curves.at(m).step}, {"value", run.metrics.curves.at(m).value}};
    }
    runs.push_back({{"arm", run.arm},
                    {"seed", run.seed},
                    {"run_dir", run.run_dir.string()},
                    {"status", to_string(run.outcome)},
                    {"detail", run.detail},
                    {"exit", run.exit_code ? io::Json(*run.exit_code) : io::Json(nullptr)},
                    {"wall_s", run.wall_s ? io::Json(*run.wall_s) : io::Json(nullptr)},
                    {"steps", run.steps},
                    {"last_step", run.last_step},
                    {"commits", run.commits},
                    {"final", final},
                    {"curves", curves},
                    {"notes", run.metrics.notes}});
  }
  for (const auto& a : r.arms) {
    io::Json final = io::Json::object(), curves = io::Json::object();
    for (const auto& m : r.metrics) {
      final[m] = detail::stat_json(a.final.at(m));
      final[m]["values"] = a.points.at(m);
      const MeanCurve& c = a.curves.at(m);
      io::Json sd = io::Json::array();
      for (double v : c.sd) sd.push_back(detail::number_or_null(v, c.n > 1));
      curves[m] = {{"step", c.step}, {"mean", c.mean}, {"sd", sd}, {"n", c.n}};
    }
    arms.push_back({{"arm", a.arm},
                    {"runs", a.runs},
                    {"complete", a.complete},
                    {"wall_s", detail::stat_json(a.wall_s)},
                    {"final", final},
                    {"curves", curves}});
  }
  io::Json j = {{"name", g.name},
                {"title", g.title},
                {"description", g.description},
                {"grid_file", g.file.string()},
                {"grid", g.json},
                {"stamp", to_json(r.stamp)},
                {"wall_s_total", detail::number_or_null(r.wall_s_total, std::isfinite(r.wall_s_total))},
                {"wall_s_runs", detail::run_wall_sum(r)},
                {"metrics", r.metrics},
                {"primary", r.primary},
                {"runs", runs},
                {"arms", arms}};
  // NaN from a diverged run is kept as the string "NaN", as metrics.jsonl does (JSON has no NaN).
  return io::detail::encode_nonfinite(j);
}

inline std::string results_csv(const Report& r) {
  std::ostringstream os;
  os << "arm,seed,status,wall_s";
  for (const auto& m : r.metrics) os << ',' << io::detail::csv_escape(m);
  os << '\n';
  for (const auto& run : r.runs) {
    os << io::detail::csv_escape(run.arm) << ',' << run.seed << ',' << io::detail::csv_escape(to_string(run.outcome))
       << ',' << (run.wall_s ? io::detail::fmt(*run.wall_s, 6) : "");
    for (const auto& m : r.metrics) {
      const auto it = run.metrics.final.find(m);
      os << ',' << (it == run.metrics.final.end() ? "" : io::detail::fmt(it->second));
    }
    os << '\n';
  }
  return os.str();
}

inline std::string results_md(const Report& r) {
  const Grid& g = *r.grid;
  const Stamp& s = r.stamp;
  std::ostringstream md;
  md << "# " << g.title << "\n\n";
  if (!g.description.empty()) md << g.description << "\n\n";
  md << "- **When:** " << s.utc << "\n"
     << "- **Machine:** " << s.cpu << ", " << s.cores << " cores; " << s.os << "\n"
     << "- **sinklab:** " << short_commit(s) << "\n"
     << "- **Command:** `" << s.command << "`\n"
     << "- **Wall time:** " << format_seconds(r.wall_s_total) << " for the grid, "
     << format_seconds(detail::run_wall_sum(r)) << " summed over runs\n";
  // Say so when the runs were not all trained at the commit stamped above.
  std::set<std::string> commits;
  for (const auto& run : r.runs) commits.insert(run.commits.begin(), run.commits.end());
  if (!commits.empty() && (commits.size() > 1 || *commits.begin() != short_commit(s))) {
    std::string list;
    for (const auto& c : commits) list += (list.empty() ? "" : "; ") + c;
    md << "- **Runs trained at:** " << list << "\n";
  }
  std::size_t complete = 0;
  for (const auto& run : r.runs) complete += run.complete();
  md << "- **Grid:** " << g.arms.size() << " arms × " << g.seeds.size() << " seeds; " << complete << " of "
     << r.runs.size() << " runs complete\n\n";

  md << "## Per arm\n\nFinal value of each metric (on the last line of metrics.jsonl that has it), mean ± sample sd "
        "over the complete seeds; — when no complete seed logged it.\n\n"
     << to_markdown(arm_table(r.arms, r.metrics)) << "\n";
  if (!r.primary.empty()) {
    const std::string f = metric_file_part(r.primary);
    md << "![" << r.primary << " per arm](final_" << f << ".svg)\n![" << r.primary << " over training](curve_" << f
       << ".svg)\n\n";
  }
  md << "## Per run\n\n" << to_markdown(run_table(r.runs, r.metrics)) << "\n";
  std::vector<std::string> notes;
  for (const auto& run : r.runs) notes.insert(notes.end(), run.metrics.notes.begin(), run.metrics.notes.end());
  if (!notes.empty()) {
    md << "Notes:\n\n";
    for (const auto& n : notes) md << "- " << n << "\n";
    md << "\n";
  }
  if (!r.metrics.empty()) {
    md << "## Figures\n\n";
    for (const auto& m : r.metrics) {
      const std::string f = metric_file_part(m);
      md << "- " << m << ": [final](final_" << f << ".svg), [curve](curve_" << f << ".svg)\n";
    }
  }
  return md.str();
}

inline void write_plots(const fs::path& dir, const Report& r) {
  for (const auto& m : r.metrics) {
    const std::string f = metric_file_part(m);
    std::vector<io::Bar> bars;
    std::vector<io::Series> series;
    for (const auto& a : r.arms) {
      const Stat& st = a.final.at(m);
      bars.push_back({a.arm, st.n ? st.mean : std::numeric_limits<double>::quiet_NaN(), st.sd, a.points.at(m)});
      const MeanCurve& c = a.curves.at(m);
      series.push_back({a.arm, c.step, c.mean});
    }
    io::write_bar_plot(dir / ("final_" + f + ".svg"), bars,
                       {m + " at the end of training: mean ± sd over seeds (dots: seeds)", m});
    io::write_line_plot(dir / ("curve_" + f + ".svg"), series, {m + " over training, mean over seeds", "step", m});
  }
}

// Writes every results file into `dir` (created if needed).
inline void write_report(const fs::path& dir, const Report& r) {
  SINKLAB_CHECK(r.grid, "write_report: no grid");
  fs::create_directories(dir);
  io::write_file_atomic(dir / "results.json", results_json(r).dump(2) + "\n");
  io::write_file_atomic(dir / "results.csv", results_csv(r));
  io::write_file_atomic(dir / "results.md", results_md(r));
  write_plots(dir, r);
}

}  // namespace sinklab::experiment
