#pragma once
// The grid's tables as rows of text: one row per arm (each metric as mean ± sd over seeds, seeds run, mean wall
// time) and one row per run; rendered as Markdown for results.md. Numbers keep 4 significant digits (sd 3).
#include <cmath>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include "sinklab/experiment/aggregate.hpp"
#include "sinklab/io/plot.hpp"
#include "sinklab/io/progress.hpp"

namespace sinklab::experiment {

inline constexpr const char* kMissing = "—";  // a metric a run never logged, or an arm with no complete run

// "%.*g": 1.913, 18.42, 0.0123, 1.229e+06; "nan" and "inf" spelt out.
inline std::string format_number(double v, int digits = 4) { return io::detail::fmt(v, digits); }

// "1.913 ± 0.0123"; one seed: its value alone; none: "—".
inline std::string format_stat(const Stat& s) {
  if (s.n == 0) return kMissing;
  if (s.n == 1) return format_number(s.mean);
  return format_number(s.mean) + " ± " + format_number(s.sd, 3);
}

// "2.4 s" under a minute, then io::format_duration's "7m40s", "2h05m"; "—" when unknown.
inline std::string format_seconds(double s) {
  if (!std::isfinite(s)) return kMissing;
  if (s < 59.95) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f s", s);
    return buf;
  }
  return io::format_duration(s);
}

struct Table {
  std::vector<std::string> header;
  std::vector<bool> numeric;  // per column: right-aligned in Markdown
  std::vector<std::vector<std::string>> rows;
};

// arm | <metric>... | seeds (complete / run) | wall time (mean over complete seeds)
inline Table arm_table(std::span<const ArmSummary> arms, std::span<const std::string> metrics) {
  Table t;
  t.header.push_back("arm");
  t.numeric.push_back(false);
  for (const auto& m : metrics) t.header.push_back(m), t.numeric.push_back(true);
  t.header.insert(t.header.end(), {"seeds", "wall time"});
  t.numeric.insert(t.numeric.end(), {true, true});
  for (const auto& a : arms) {
    std::vector<std::string> row = {a.arm};
    for (const auto& m : metrics) row.push_back(format_stat(a.final.at(m)));
    row.push_back(std::to_string(a.complete) + "/" + std::to_string(a.runs));
    row.push_back(a.wall_s.n ? format_seconds(a.wall_s.mean) : kMissing);
    t.rows.push_back(std::move(row));
  }
  return t;
}

// arm | seed | status | wall time | <metric>...; `runs` in the order given.
inline Table run_table(std::span<const RunResult> runs, std::span<const std::string> metrics) {
  Table t;
  t.header = {"arm", "seed", "status", "wall time"};
  t.numeric = {false, true, false, true};
  for (const auto& m : metrics) t.header.push_back(m), t.numeric.push_back(true);
  for (const auto& r : runs) {
    std::string status = to_string(r.outcome);
    if (!r.detail.empty()) status += " (" + r.detail + ")";
    std::vector<std::string> row = {r.arm, std::to_string(r.seed), status,
                                    r.wall_s ? format_seconds(*r.wall_s) : kMissing};
    for (const auto& m : metrics) {
      const auto it = r.metrics.final.find(m);
      row.push_back(it == r.metrics.final.end() ? kMissing : format_number(it->second));
    }
    t.rows.push_back(std::move(row));
  }
  return t;
}

inline std::string to_markdown(const Table& t) {
  auto cell = [](const std::string& s) {
    std::string out;
    for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
    return out;
  };
  std::string md = "|";
  for (const auto& h : t.header) md += " " + cell(h) + " |";
  md += "\n|";
  for (std::size_t c = 0; c < t.header.size(); ++c) md += c < t.numeric.size() && t.numeric[c] ? "---:|" : "---|";
  md += "\n";
  for (const auto& row : t.rows) {
    md += "|";
    for (const auto& v : row) md += " " + cell(v) + " |";
    md += "\n";
  }
  return md;
}

}  // namespace sinklab::experiment
