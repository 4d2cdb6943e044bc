#include <catch2/catch.hpp>

#include "grid_fixture.hpp"
#include "sinklab/experiment/aggregate.hpp"
#include "sinklab/experiment/report.hpp"
#include "sinklab/experiment/run_log.hpp"

using namespace sinklab;
using namespace sinklab::experiment;
using Catch::Matchers::Contains;

TEST_CASE("the runner's log gives each run's wall time since it was last started", "[experiment][report]") {
  test::TempDir dir("runlog");
  const Stamp stamp{"now", "cpu", 2, "os", "0123456789abcdef0123456789abcdef01234567", true, "cmd"};
  {
    RunLog log(dir / "runner.jsonl", stamp);
    log.started("a/seed_1", "start", "p --config x");
    log.finished("a/seed_1", "start", 130, 5.0);
    log.started("a/seed_1", "resume", "p --resume x");
    log.finished("a/seed_1", "resume", 0, 2.5);
    log.started("b/seed_1", "start", "p");
    log.finished("b/seed_1", "start", 0, 100.0);
    log.started("b/seed_1", "start", "p --overwrite");  // started again from scratch, then killed: no end
    log.invocation(40.0, 130);
    log.invocation(3.0, 0);
  }
  const GridHistory h = read_history(dir / "runner.jsonl");
  CHECK(h.wall_s == 43.0);
  const RunHistory& a = h.runs.at("a/seed_1");
  CHECK(a.starts == 2);
  CHECK(*a.wall_s == 7.5);  // the interrupted attempt and its resumption
  CHECK(*a.last_exit == 0);
  CHECK(a.commits == std::vector<std::string>{"0123456789ab (dirty)"});
  const RunHistory& b = h.runs.at("b/seed_1");
  CHECK(b.starts == 2);
  CHECK(!b.wall_s);     // the earlier attempt's time belongs to a run that no longer exists
  CHECK(!b.last_exit);  // nor does its exit status
  CHECK(read_history(dir / "absent.jsonl").runs.empty());
}

TEST_CASE("results.json, .csv, .md and the plots", "[experiment][report]") {
  test::GridFixture f;
  f.write_run("a/seed_1", test::lines(2.0, 2.2, 10.0), true);
  f.write_run("a/seed_2", test::lines(2.0, 2.6, 30.0), true);
  f.write_run("b/seed_1", "{\"step\": 4, \"loss\": \"NaN\"}\n", true);  // diverged; logged no val_loss or sink
  Report r;
  r.grid = &f.grid;
  r.metrics = f.grid.metrics;
  r.primary = "sink[1]";
  r.stamp = {"2025-01-31 14:05:09 UTC",     "Test CPU", 2, "Test OS", "0123456789abcdef0123456789abcdef01234567", false,
             "sinklab-experiment grid.json"};
  r.wall_s_total = 75;
  for (const auto& arm : f.grid.arms)
    for (const auto& spec : f.runs)
      if (spec.arm == arm.name) r.runs.push_back(collect_run(spec, inspect_run(spec), nullptr, r.metrics));
  const std::vector<std::string> arms = {"a", "b"};
  r.arms = summarize_arms(arms, r.runs, r.metrics);
  const auto out = f.dir / "report";
  write_report(out, r);

  const auto j = io::load_json(out / "results.json");
  CHECK(j["name"] == "g");
  CHECK(j["grid"]["seeds"] == io::Json::array({1, 2}));
  CHECK(j["stamp"]["cpu"] == "Test CPU");
  REQUIRE(j["runs"].size() == 4);
  CHECK(j["runs"][0]["arm"] == "a");
  CHECK(j["runs"][0]["final"]["val_loss"] == 2.2);
  CHECK(j["runs"][0]["curves"]["loss"]["step"] == io::Json::array({2, 3, 4}));
  CHECK(j["runs"][2]["final"]["loss"] == "NaN");       // kept, as metrics.jsonl writes it
  CHECK(j["runs"][2]["final"]["val_loss"].is_null());  // missing is not 0
  CHECK(j["runs"][3]["status"] == "not run");
  CHECK(j["arms"][0]["final"]["val_loss"]["mean"] == Approx(2.4));
  CHECK(j["arms"][0]["final"]["val_loss"]["n"] == 2);
  CHECK(j["arms"][0]["final"]["sink1"]["values"] == io::Json::array({10.0, 30.0}));
  CHECK(j["arms"][0]["curves"]["sink[1]"]["mean"] == io::Json::array({1.0, 2.0}));
  CHECK(j["arms"][1]["final"]["loss"]["sd"].is_null());  // one seed: no sd
  CHECK(j["arms"][1]["final"]["val_loss"]["mean"].is_null());

  CHECK(io::read_text_file(out / "results.csv") ==
        "arm,seed,status,wall_s,loss,val_loss,sink1,sink[1]\n"
        "a,1,done,,2,2.2,10,2\na,2,done,,2,2.6,30,2\nb,1,done,,nan,,,\nb,2,not run,,,,,\n");

  const std::string md = io::read_text_file(out / "results.md");
  CHECK_THAT(md, Contains("# g\n"));
  CHECK_THAT(md, Contains("- **When:** 2025-01-31 14:05:09 UTC"));
  CHECK_THAT(md, Contains("- **Machine:** Test CPU, 2 cores; Test OS"));
  CHECK_THAT(md, Contains("- **sinklab:** 0123456789ab\n"));
  CHECK_THAT(md, Contains("- **Command:** `sinklab-experiment grid.json`"));
  CHECK_THAT(md, Contains("- **Wall time:** 1m15s for the grid"));
  CHECK_THAT(md, Contains("2 arms × 2 seeds; 3 of 4 runs complete"));
  CHECK_THAT(md, Contains("| a | 2 ± 0 | 2.4 ± 0.283 | 20 ± 14.1 | 2 ± 0 | 2/2 | — |"));
  CHECK_THAT(md, Contains("| b | nan | — | — | — | 1/2 | — |"));
  CHECK_THAT(md, Contains("| b | 2 | not run | — | — | — | — | — |"));
  CHECK_THAT(md, Contains("![sink[1] per arm](final_sink_1.svg)"));

  for (const char* stem : {"loss", "val_loss", "sink1", "sink_1"}) {
    for (const char* kind : {"final_", "curve_"}) {
      INFO(kind << stem);
      CHECK(fs::file_size(out / (std::string(kind) + stem + ".svg")) > 200);
      CHECK(fs::exists(out / (std::string(kind) + stem + ".csv")));
    }
  }
  CHECK(io::read_text_file(out / "final_sink1.csv") ==
        "bar,kind,value\na,value,20\na,error,14.14213562\na,point,10\na,point,30\nb,value,nan\n");
}
