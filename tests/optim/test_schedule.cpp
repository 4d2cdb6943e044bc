#include <catch2/catch.hpp>

#include "sinklab/optim/schedule.hpp"

using sinklab::optim::Schedule;
using sinklab::optim::ScheduleKind;

TEST_CASE("schedule: warmup then constant / cosine / linear", "[optim]") {
  Schedule s{ScheduleKind::Constant, 1e-3, 1e-4, 10, 110};
  CHECK(s.at(0) == Approx(1e-4));
  CHECK(s.at(9) == Approx(1e-3));
  CHECK(s.at(50) == Approx(1e-3));
  s.kind = ScheduleKind::Cosine;
  CHECK(s.at(10) == Approx(1e-3));
  CHECK(s.at(60) == Approx(0.5 * (1e-3 + 1e-4)));
  CHECK(s.at(110) == Approx(1e-4));
  CHECK(s.at(500) == Approx(1e-4));
  s.kind = ScheduleKind::Linear;
  CHECK(s.at(60) == Approx(0.5e-3));
  CHECK(s.at(110) == Approx(0.0).margin(1e-15));
  CHECK_THROWS_WITH(Schedule::parse("cosin"), Catch::Contains("cosin") && Catch::Contains("cosine"));
}
