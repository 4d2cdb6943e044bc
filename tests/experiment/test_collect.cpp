#include <catch2/catch.hpp>
#include <cmath>

#include "grid_fixture.hpp"
#include "sinklab/experiment/aggregate.hpp"
#include "sinklab/experiment/collect.hpp"
#include "sinklab/experiment/tables.hpp"
#include "sinklab/io/atomic_file.hpp"

using namespace sinklab;
using namespace sinklab::experiment;
using Catch::Matchers::Contains;

TEST_CASE("final values and curves from metrics.jsonl lines", "[experiment][collect]") {
  std::vector<io::Json> recs = {
      io::Json::parse(R"({"step": 10, "loss": 3.0, "sink": [5.0, 1.0], "attention": "softmax"})"),
      io::Json::parse(R"({"step": 20, "loss": 2.0, "val_loss": 2.5})"),
      io::Json::parse(R"({"step": 30, "loss": 1.5, "sink": [7.0, 3.0]})"),
      io::Json::parse(R"({"note": "no step", "loss": 1.25})")};
  const std::vector<std::string> metrics = {"loss", "val_loss", "sink", "sink[1]", "sink[5]", "attention", "absent"};
  const auto m = extract_metrics(recs, metrics, "m.jsonl");
  CHECK(m.final.at("loss") == 1.25);  // the last line that has it, step or not
  CHECK(m.curves.at("loss").step == std::vector<double>{10, 20, 30});
  CHECK(m.curves.at("loss").value == std::vector<double>{3.0, 2.0, 1.5});
  CHECK(m.final.at("val_loss") == 2.5);  // logged on one line only
  CHECK(m.curves.at("val_loss").step == std::vector<double>{20});
  CHECK(m.final.at("sink[1]") == 3.0);
  // a list without an index, an index past its end and a string are missing, with a note; an absent key is
  // missing without one (it is simply not logged)
  for (const char* k : {"sink", "sink[5]", "attention", "absent"}) CHECK(m.final.count(k) == 0);
  REQUIRE(m.notes.size() == 3);
  CHECK_THAT(m.notes[0], Contains("m.jsonl") && Contains("'sink' is there but is not a number") && Contains("sink[i]"));
  CHECK_THAT(m.notes[1], Contains("no number at index 5"));

  std::vector<std::string> found;
  discover_metrics(recs, found);
  CHECK(found == std::vector<std::string>{"loss", "val_loss"});  // numbers only, not "step"
}

TEST_CASE("mean, sample sd and the mean curve at shared steps", "[experiment][collect]") {
  const std::vector<double> xs = {1, 2, 3, 4};
  const Stat s = describe(xs);
  CHECK(s.n == 4);
  CHECK(s.mean == 2.5);
  CHECK(s.sd == Approx(std::sqrt(5.0 / 3.0)));  // n - 1
  const std::vector<double> one = {7.0};
  CHECK(std::isnan(describe(one).sd));
  CHECK(describe(std::vector<double>{}).n == 0);

  const Curve c1{{10, 20, 30}, {1, 2, 3}}, c2{{10, 30, 40}, {3, 4, 5}};
  const std::vector<const Curve*> both = {&c1, &c2};
  const MeanCurve m = mean_curve(both);
  CHECK(m.n == 2);
  CHECK(m.step == std::vector<double>{10, 30});
  CHECK(m.mean == std::vector<double>{2, 3.5});
  CHECK(m.sd[0] == Approx(std::sqrt(2.0)));

  CHECK(format_stat(s) == "2.5 ± 1.29");
  CHECK(format_stat(describe(one)) == "7");
  CHECK(format_stat(Stat{}) == "—");
  CHECK(format_number(18.4213) == "18.42");
  CHECK(format_number(0.000123456) == "0.0001235");
  CHECK(format_number(NAN) == "nan");
  CHECK(format_seconds(2.44) == "2.4 s");
  CHECK(format_seconds(460) == "7m40s");
}

TEST_CASE("runs collected from their directories and summarised per arm", "[experiment][collect]") {
  test::GridFixture f;
  f.write_run("a/seed_1", test::lines(2.0, 2.2, 10.0), true);
  f.write_run("a/seed_2", test::lines(2.0, 2.6, 30.0), true);
  f.write_run("b/seed_1", test::lines(1.0, 1.5, 0.0), true);
  // b/seed_2 failed at step 3: its numbers must not reach the per-arm table
  f.write_run("b/seed_2", "{\"step\": 2, \"loss\": 9.0}\n{\"step\": 3, \"loss\": 8.0}\n", false);
  GridHistory h;
  h.runs["a/seed_1"] = {1, 12.0, 0, {"abc"}};
  h.runs["a/seed_2"] = {1, 14.0, 0, {"abc"}};
  h.runs["b/seed_2"] = {1, 3.0, 2, {"abc"}};

  std::vector<RunResult> results;
  for (const auto& spec : f.runs) {
    const auto it = h.runs.find(spec.id());
    results.push_back(collect_run(spec, inspect_run(spec), it == h.runs.end() ? nullptr : &it->second, f.grid.metrics));
  }
  const RunResult& failed = results[3];
  REQUIRE(failed.arm == "b");
  CHECK(failed.outcome == Outcome::failed);
  CHECK(failed.detail == "exit 2, at step 3 of 4");
  CHECK(failed.metrics.final.at("loss") == 8.0);
  CHECK(results[1].outcome == Outcome::done);
  CHECK(!results[1].wall_s);  // not in the runner's log

  const std::vector<std::string> arms = {"a", "b"};
  const auto summary = summarize_arms(arms, results, f.grid.metrics);
  REQUIRE(summary.size() == 2);
  CHECK(summary[0].complete == 2);
  CHECK(summary[0].final.at("val_loss").mean == Approx(2.4));
  CHECK(summary[0].final.at("val_loss").sd == Approx(std::sqrt(0.08)));
  CHECK(summary[0].points.at("sink1") == std::vector<double>{10.0, 30.0});
  CHECK(summary[0].curves.at("sink[1]").step == std::vector<double>{2, 4});
  CHECK(summary[0].curves.at("sink[1]").mean == std::vector<double>{1.0, 2.0});
  CHECK(summary[0].wall_s.mean == 13.0);
  CHECK(summary[1].runs == 2);
  CHECK(summary[1].complete == 1);
  CHECK(summary[1].final.at("loss").n == 1);
  CHECK(summary[1].final.at("loss").mean == 1.0);  // the failed seed's 8.0 is left out

  const Table arm = arm_table(summary, f.grid.metrics);
  CHECK(arm.header == std::vector<std::string>{"arm", "loss", "val_loss", "sink1", "sink[1]", "seeds", "wall time"});
  CHECK(arm.rows[0] == std::vector<std::string>{"a", "2 ± 0", "2.4 ± 0.283", "20 ± 14.1", "2 ± 0", "2/2", "13.0 s"});
  CHECK(arm.rows[1] == std::vector<std::string>{"b", "1", "1.5", "0", "2", "1/2", "—"});
  const Table run = run_table(results, f.grid.metrics);
  CHECK(run.rows[3] ==
        std::vector<std::string>{"b", "2", "failed (exit 2, at step 3 of 4)", "3.0 s", "8", "—", "—", "—"});
  CHECK(to_markdown(arm).find("| arm | loss | val_loss | sink1 | sink[1] | seeds | wall time |\n|---|---:|") == 0);
}

TEST_CASE("without \"metrics\", every numeric key the runs log is reported, primary first", "[experiment][collect]") {
  test::GridFixture f;
  f.grid.metrics.clear();
  f.grid.primary = "val_loss";
  f.write_run("a/seed_1", test::lines(2.0, 2.2, 10.0), true);
  f.write_run("b/seed_2", "{\"step\": 1, \"loss\": 3.0, \"lr\": 0.001}\n", false);
  CHECK(metrics_to_report(f.grid, f.runs) == std::vector<std::string>{"val_loss", "loss", "sink1", "lr"});
  f.grid.metrics = {"sink[0]"};
  CHECK(metrics_to_report(f.grid, f.runs) == std::vector<std::string>{"sink[0]"});
}
