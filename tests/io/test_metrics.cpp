#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "sinklab/io/metrics.hpp"
#include "tmpdir.hpp"

using namespace sinklab;

TEST_CASE("metrics JSONL: non-finite values are explicit strings and read back", "[io][metrics]") {
  test::TempDir dir("metrics");
  const auto p = dir / "run" / "metrics.jsonl";
  {
    io::MetricsWriter w(p);
    w.write({{"step", 1}, {"loss", 2.5}});
    w.write({{"step", 2},
             {"loss", std::numeric_limits<double>::quiet_NaN()},
             {"grad", {std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()}}});
  }
  CHECK(io::read_text_file(p) ==
        "{\"loss\":2.5,\"step\":1}\n{\"grad\":[\"Infinity\",\"-Infinity\"],\"loss\":\"NaN\",\"step\":2}\n");
  const auto rows = io::read_metrics(p);
  REQUIRE(rows.size() == 2);
  CHECK(std::isnan(rows[1]["loss"].get<double>()));
  CHECK(rows[1]["grad"][0].get<double>() == std::numeric_limits<double>::infinity());
  CHECK(rows[1]["grad"][1].get<double>() == -std::numeric_limits<double>::infinity());
  {
    io::MetricsWriter w(p);  // appends
    w.write({{"step", 3}, {"loss", 1.0}});
  }
  CHECK(io::read_metrics(p).size() == 3);
}

TEST_CASE("metrics: resume truncates after step N and drops a partial line", "[io][metrics]") {
  test::TempDir dir("metrics");
  const auto p = dir / "m.jsonl";
  io::write_file_atomic(p, std::string_view("{\"step\":1,\"loss\":3}\n{\"step\":2,\"loss\":2}\n{\"event\":\"ckpt\"}\n"
                                            "{\"step\":3,\"loss\":1}\n{\"step\":4,\"lo"));
  CHECK(io::read_metrics(p).size() == 4);  // the interrupted last line is ignored
  CHECK(io::truncate_metrics_after(p, 2) == 3);
  CHECK(io::read_text_file(p) == "{\"loss\":3,\"step\":1}\n{\"loss\":2,\"step\":2}\n{\"event\":\"ckpt\"}\n");
  io::write_file_atomic(p, std::string_view("{\"step\":1}\n{bad\n{\"step\":2}\n"));
  CHECK_THROWS_WITH(io::read_metrics(p), Catch::Contains("line 2") && Catch::Contains("m.jsonl"));
}
