#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <map>

#include "../io/tmpdir.hpp"
#include "sinklab/data/bigram_backcopy.hpp"

using namespace sinklab;
using data::BackcopySpec;
using data::BigramBackcopy;

namespace {
std::vector<std::vector<int32_t>> many(const BigramBackcopy& task, uint64_t seed, int n, int len) {
  std::vector<std::vector<int32_t>> out;
  for (int i = 0; i < n; ++i) out.push_back(task.sequence(seed, uint64_t(i), len));
  return out;
}
}  // namespace

TEST_CASE("Bigram-Backcopy: BOS first, x1 never a trigger, backcopy at every trigger", "[data][backcopy]") {
  const BigramBackcopy task(BackcopySpec{});
  int64_t triggers_seen = 0;
  for (const auto& s : many(task, 7, 300, 65)) {
    REQUIRE(s[0] == task.bos());
    CHECK_FALSE(task.is_trigger(s[1]));
    for (std::size_t n = 1; n < s.size(); ++n) {
      REQUIRE(s[n] >= 0);
      REQUIRE(s[n] < task.vocab());  // BOS appears only at position 0
    }
    for (std::size_t n = 1; n + 1 < s.size(); ++n) {
      if (!task.is_trigger(s[n])) continue;
      ++triggers_seen;
      INFO("position " << n);
      CHECK(s[n + 1] == s[n - 1]);               // the backcopy rule
      CHECK_FALSE(task.is_trigger(s[n - 1]));    // Note [trigger after trigger]
    }
  }
  CHECK(triggers_seen > 3000);  // ~30 % of the ~2/3 of positions drawn from the bigram table
}

TEST_CASE("Bigram-Backcopy: bigram frequencies match the table within sampling error", "[data][backcopy]") {
  const BigramBackcopy task(BackcopySpec{});
  std::map<int32_t, std::map<int32_t, double>> counts;
  std::map<int32_t, double> totals;
  for (const auto& s : many(task, 3, 2000, 129))
    for (std::size_t n = 1; n + 1 < s.size(); ++n)
      if (!task.is_trigger(s[n])) counts[s[n]][s[n + 1]] += 1, totals[s[n]] += 1;
  int checked = 0;
  double worst_z = 0;
  for (const auto& [a, total] : totals) {
    if (total < 2000) continue;
    const auto p = task.row(a);
    for (int32_t b = 0; b < task.vocab(); ++b) {
      const double expect = p[std::size_t(b)], seen = counts[a][b] / total;
      if (expect == 0) {
        CHECK(seen == 0);  // sparse rows: a successor outside the support never appears
        continue;
      }
      const double z = std::abs(seen - expect) / std::sqrt(expect * (1 - expect) / total);
      worst_z = std::max(worst_z, z);
      ++checked;
    }
  }
  INFO("worst |z| = " << worst_z << " over " << checked << " (row, successor) pairs");
  CHECK(checked > 100);
  CHECK(worst_z < 5.0);
  // The triggers carry the configured share of every bigram draw.
  CHECK(task.measured_trigger_share() == Approx(0.3).margin(0.01));
}

TEST_CASE("Bigram-Backcopy: the random table is what the spec says", "[data][backcopy]") {
  BackcopySpec spec;
  spec.vocab = 20, spec.triggers = 2, spec.support = 5, spec.trigger_mass = 0.25;
  const BigramBackcopy task(spec);
  for (int32_t a = 0; a < 20; ++a) {
    const auto p = task.row(a);
    double sum = 0;
    int nonzero = 0;
    for (int32_t b = 0; b < 20; ++b) {
      sum += p[std::size_t(b)];
      if (b >= 2 && p[std::size_t(b)] > 0) ++nonzero;
    }
    CHECK(sum == Approx(1.0).epsilon(1e-12));
    CHECK(p[0] == Approx(0.125));
    CHECK(p[1] == Approx(0.125));
    CHECK(nonzero == 5);
  }
  const auto first = task.first_token();
  CHECK(first[0] == 0.0);
  CHECK(first[1] == 0.0);
}

TEST_CASE("Bigram-Backcopy: deterministic by seed, different across seeds and tasks", "[data][backcopy]") {
  const BigramBackcopy a(BackcopySpec{}), b(BackcopySpec{});
  CHECK(a.sequence(11, 5, 64) == b.sequence(11, 5, 64));
  CHECK(a.sequence(11, 5, 64) != a.sequence(12, 5, 64));
  CHECK(a.sequence(11, 5, 64) != a.sequence(11, 6, 64));
  BackcopySpec other;
  other.seed = 2;
  const BigramBackcopy c(other);
  bool differs = false;
  for (int32_t x = 0; x < c.vocab(); ++x)
    for (int32_t y = 0; y < c.vocab(); ++y) differs = differs || a.row(x)[std::size_t(y)] != c.row(x)[std::size_t(y)];
  CHECK(differs);
  // The validation set is the task's own: blocks start with BOS and do not depend on a training seed.
  const auto v1 = a.validation_set(8, 32), v2 = b.validation_set(8, 32);
  REQUIRE(v1.num_blocks() == 8);
  for (int64_t i = 0; i < 8; ++i) {
    CHECK(v1.block(i)[0] == a.bos());
    CHECK(std::vector<int32_t>(v1.block(i).begin(), v1.block(i).end()) ==
          std::vector<int32_t>(v2.block(i).begin(), v2.block(i).end()));
  }
}

TEST_CASE("Bigram-Backcopy: the sampler continues exactly from a saved state", "[data][backcopy]") {
  auto task = std::make_shared<const BigramBackcopy>(BackcopySpec{});
  data::BackcopySampler straight(task, 4, 16, 99);
  std::vector<data::Batch> seen;
  for (int i = 0; i < 5; ++i) seen.push_back(straight.next());
  data::BackcopySampler first(task, 4, 16, 99);
  for (int i = 0; i < 2; ++i) first.next();
  const auto state = first.state_json();
  data::BackcopySampler resumed(task, 4, 16, 12345);  // the seed comes from the state
  resumed.load_state_json(state);
  for (int i = 2; i < 5; ++i) {
    const auto b = resumed.next();
    CHECK(b.inputs == seen[std::size_t(i)].inputs);
    CHECK(b.targets == seen[std::size_t(i)].targets);
  }
  // Inputs start at BOS and targets are the inputs shifted by one.
  for (int64_t r = 0; r < 4; ++r) {
    CHECK(seen[0].inputs[std::size_t(r * 16)] == task->bos());
    for (int64_t t = 0; t + 1 < 16; ++t)
      CHECK(seen[0].targets[std::size_t(r * 16 + t)] == seen[0].inputs[std::size_t(r * 16 + t + 1)]);
  }
  // A state from another task, batch shape or sampler kind is refused.
  BackcopySpec other;
  other.triggers = 4;
  data::BackcopySampler wrong_task(std::make_shared<const BigramBackcopy>(other), 4, 16, 99);
  CHECK_THROWS_WITH(wrong_task.load_state_json(state), Catch::Contains("task"));
  data::BackcopySampler wrong_shape(task, 8, 16, 99);
  CHECK_THROWS_WITH(wrong_shape.load_state_json(state), Catch::Contains("cannot resume"));
  data::BatchSampler blocks(task->validation_set(8, 16), 4, 1);
  CHECK_THROWS_WITH(blocks.load_state_json(state), Catch::Contains("bigram_backcopy"));
  CHECK_THROWS_WITH(first.load_state_json(blocks.state_json()), Catch::Contains("bigram_backcopy"));
}

TEST_CASE("Bigram-Backcopy: a corpus table is the corpus's byte bigrams, triggers its commonest bytes",
          "[data][backcopy]") {
  const sinklab::test::TempDir dir("backcopy_corpus");
  const auto file = dir.path / "c.txt";
  std::ofstream(file) << "aaaa bbb cc d aaaa bbb cc d ab ba";  // a: 10, space: 9, b: 8, c: 4, d: 2
  BackcopySpec spec;
  spec.table = "corpus";
  spec.corpus = file.string();
  spec.vocab = 5;
  spec.triggers = 1;
  const BigramBackcopy task(spec);
  REQUIRE(task.characters() == std::vector<unsigned char>{'a', ' ', 'b', 'c', 'd'});
  // 'c' (id 3) is followed by 'c' twice and ' ' twice.
  CHECK(task.row(3)[3] == Approx(0.5));
  CHECK(task.row(3)[1] == Approx(0.5));
  // 'd' (id 4) is followed by ' ' twice.
  CHECK(task.row(4)[1] == Approx(1.0));
  spec.vocab = 7;  // only 5 distinct bytes
  CHECK_THROWS_WITH(BigramBackcopy(spec), Catch::Contains("fewer than 7 distinct bytes"));
}

TEST_CASE("Bigram-Backcopy: bad specs name the key", "[data][backcopy]") {
  auto fails = [](auto edit, const char* needle) {
    BackcopySpec s;
    edit(s);
    CHECK_THROWS_WITH(BigramBackcopy(s), Catch::Contains(needle));
  };
  fails([](BackcopySpec& s) { s.triggers = 0; }, "data.backcopy.triggers");
  fails([](BackcopySpec& s) { s.vocab = 3; }, "data.backcopy.vocab");
  fails([](BackcopySpec& s) { s.trigger_mass = 1.0; }, "data.backcopy.trigger_mass");
  fails([](BackcopySpec& s) { s.support = 62; }, "data.backcopy.support");
  fails([](BackcopySpec& s) { s.table = "markov"; }, "data.backcopy.table");
  fails([](BackcopySpec& s) { s.table = "corpus"; }, "data.backcopy.corpus");
}
