#pragma once
// Per arm, over its seeds: mean, sample standard deviation (n − 1) and n of every final metric, and the mean curve
// at the steps every seed logged. Only complete runs count: a failed or cut-short run's "final" value is from an
// earlier step, and averaging it in would be a silent wrong answer. A seed that never logged a metric is left out of
// that metric's n; a NaN (a diverged run) is kept, so the mean shows it.
#include <cmath>
#include <limits>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "sinklab/experiment/collect.hpp"

namespace sinklab::experiment {

struct Stat {
  double mean = std::numeric_limits<double>::quiet_NaN();
  double sd = std::numeric_limits<double>::quiet_NaN();  // NaN when n < 2
  std::size_t n = 0;
};

inline Stat describe(std::span<const double> xs) {
  Stat s;
  s.n = xs.size();
  if (xs.empty()) return s;
  double sum = 0;
  for (double x : xs) sum += x;
  s.mean = sum / static_cast<double>(xs.size());
  if (xs.size() > 1) {
    double ss = 0;
    for (double x : xs) ss += (x - s.mean) * (x - s.mean);
    s.sd = std::sqrt(ss / static_cast<double>(xs.size() - 1));
  }
  return s;
}

struct MeanCurve {
  std::vector<double> step, mean, sd;
  std::size_t n = 0;  // curves averaged
};

// The mean (and sd) over `curves` at the steps all of them have; a step logged twice in one curve counts once,
// with its last value.
inline MeanCurve mean_curve(std::span<const Curve* const> curves) {
  MeanCurve out;
  out.n = curves.size();
  if (curves.empty()) return out;
  std::vector<std::map<double, double>> by_step(curves.size());
  for (std::size_t c = 0; c < curves.size(); ++c)
    for (std::size_t i = 0; i < curves[c]->step.size(); ++i) by_step[c][curves[c]->step[i]] = curves[c]->value[i];
  for (const auto& [step, _] : by_step.front()) {
    std::vector<double> v;
    for (const auto& m : by_step) {
      const auto it = m.find(step);
      if (it == m.end()) break;
      v.push_back(it->second);
    }
    if (v.size() != curves.size()) continue;
    const Stat s = describe(v);
    out.step.push_back(step);
    out.mean.push_back(s.mean);
    out.sd.push_back(s.sd);
  }
  return out;
}

struct ArmSummary {
  std::string arm;
  std::size_t runs = 0, complete = 0;
  std::map<std::string, Stat> final;                  // metric -> over the complete runs that logged it
  std::map<std::string, std::vector<double>> points;  // metric -> those runs' values, in seed order
  std::map<std::string, MeanCurve> curves;
  Stat wall_s;  // over complete runs with a logged wall time
};

// One summary per arm, in `arms` order; `runs` in any order.
inline std::vector<ArmSummary> summarize_arms(std::span<const std::string> arms, std::span<const RunResult> runs,
                                              std::span<const std::string> metrics) {
  std::vector<ArmSummary> out;
  for (const auto& arm : arms) {
    ArmSummary s;
    s.arm = arm;
    std::vector<const RunResult*> done;
    for (const auto& r : runs) {
      if (r.arm != arm) continue;
      ++s.runs;
      if (r.complete()) done.push_back(&r);
    }
    s.complete = done.size();
    std::vector<double> walls;
    for (const auto* r : done)
      if (r->wall_s) walls.push_back(*r->wall_s);
    s.wall_s = describe(walls);
    for (const auto& m : metrics) {
      std::vector<double> values;
      std::vector<const Curve*> curves;
      for (const auto* r : done) {
        const auto it = r->metrics.final.find(m);
        if (it == r->metrics.final.end()) continue;
        values.push_back(it->second);
        curves.push_back(&r->metrics.curves.at(m));
      }
      s.final[m] = describe(values);
      s.points[m] = values;
      s.curves[m] = mean_curve(curves);
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace sinklab::experiment
