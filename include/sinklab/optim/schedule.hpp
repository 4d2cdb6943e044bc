#pragma once
// Learning-rate schedules: linear warmup, then constant (sink paper), cosine to min_lr, or linear to zero
// (RNN paper). `step` is 0-based: the rate for the update about to be taken.
#include <algorithm>
#include <cmath>
#include <string>

#include "sinklab/core/error.hpp"

namespace sinklab::optim {

enum class ScheduleKind { Constant, Cosine, Linear };

struct Schedule {
  ScheduleKind kind = ScheduleKind::Constant;
  double lr = 4e-4, min_lr = 0.0;
  int64_t warmup = 100, total = 1000;

  static ScheduleKind parse(const std::string& s) {
    if (s == "constant") return ScheduleKind::Constant;
    if (s == "cosine") return ScheduleKind::Cosine;
    if (s == "linear") return ScheduleKind::Linear;
    SINKLAB_FAIL("optim.schedule: unknown value '", s, "' (expected constant, cosine or linear)");
  }

  double at(int64_t step) const {
    if (warmup > 0 && step < warmup) return lr * double(step + 1) / double(warmup);
    const double span = std::max<int64_t>(1, total - warmup);
    const double t = std::clamp(double(step - warmup) / span, 0.0, 1.0);
    switch (kind) {
      case ScheduleKind::Constant:
        return lr;
      case ScheduleKind::Cosine:
        return min_lr + 0.5 * (lr - min_lr) * (1.0 + std::cos(M_PI * t));
      case ScheduleKind::Linear:
        return lr * (1.0 - t);
    }
    return lr;
  }
};

}  // namespace sinklab::optim
