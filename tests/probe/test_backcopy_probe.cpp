// The Bigram-Backcopy probe and the training-probe summary against hand-computed values on small, hand-made maps.
#include <catch2/catch.hpp>

#include <cmath>

#include "sinklab/probe/backcopy.hpp"
#include "sinklab/probe/summary.hpp"

using namespace sinklab;

namespace {
// A task with vocab 6 whose triggers are ids 0 and 1; BOS = 6.
std::shared_ptr<const data::BigramBackcopy> small_task() {
  data::BackcopySpec s;
  s.vocab = 6, s.triggers = 2, s.support = 2, s.trigger_mass = 0.3, s.seed = 4;
  return std::make_shared<const data::BigramBackcopy>(s);
}

// One (1, H, T, C) map per layer from row-major values.
Tensor<double> map_of(int64_t H, int64_t T, int64_t C, std::vector<double> v) {
  return Tensor<double>::from({1, H, T, C}, v);
}
}  // namespace

TEST_CASE("Backcopy probe: attention to BOS from non-trigger queries and split losses, by hand", "[probe][backcopy]") {
  const auto task = small_task();
  // BOS, 3, 0 (trigger), 3 (its backcopy), 4; inputs are the first 4, targets the last 4.
  const std::vector<std::vector<int32_t>> seqs = {{6, 3, 0, 3, 4}};
  probe::BackcopyProbe p(task, seqs, 1, 1);
  nn::ForwardTrace<double> trace;
  // Query rows t = 0..3 over keys 0..3 (causal). Query 1 (token 3) gives BOS 0.6; query 2 (token 0, a trigger)
  // gives BOS 0.1; query 3 (token 3) gives BOS 0.2.
  trace.attention.push_back(map_of(1, 4, 4, {1.0, 0, 0, 0,  //
                                             0.6, 0.4, 0, 0,  //
                                             0.1, 0.8, 0.1, 0,  //
                                             0.2, 0.3, 0.1, 0.4}));
  trace.raw_attention.push_back(map_of(1, 4, 4, {1.0, 0, 0, 0,  //
                                                 0.06, 0.04, 0, 0,  //
                                                 0.01, 0.08, 0.01, 0,  //
                                                 0.02, 0.03, 0.01, 0.04}));
  // Per-token losses for targets 3, 0, 3, 4: position 2 is after the trigger (backcopy), the rest are bigram.
  const auto losses = Tensor<double>::from({4}, std::vector<double>{1.5, 2.0, 0.25, 1.0});
  p.hook<double>()(0, 1, trace, losses);
  const auto m = p.metrics();
  CHECK(m["bos_attn"].get<double>() == Approx((0.6 + 0.2) / 2));
  CHECK(m["bos_attn_raw"].get<double>() == Approx((0.06 + 0.02) / 2));
  CHECK(m["bos_attn_trigger"].get<double>() == Approx(0.1));
  CHECK(m["bos_attn_heads"][0].get<double>() == Approx(0.4));
  CHECK(m["backcopy_loss"].get<double>() == Approx(0.25));
  CHECK(m["backcopy_acc"].get<double>() == Approx(1.0));  // e^-0.25 > 1/2
  CHECK(m["bigram_loss"].get<double>() == Approx((1.5 + 2.0 + 1.0) / 3));
  // The oracle: H(x_1) after BOS, H(P(·|3)) after token 3 (twice): exact entropies of the task's own table.
  auto H = [](std::span<const double> p) {
    double h = 0;
    for (double x : p) h -= x > 0 ? x * std::log(x) : 0.0;
    return h;
  };
  CHECK(m["bigram_oracle"].get<double>() == Approx((H(task->first_token()) + 2 * H(task->row(3))) / 3));
}

TEST_CASE("Backcopy probe: with a slot, BOS is column 1", "[probe][backcopy]") {
  const auto task = small_task();
  const std::vector<std::vector<int32_t>> seqs = {{6, 3, 4, 5}};
  probe::BackcopyProbe p(task, seqs, 1, 1);
  nn::ForwardTrace<double> trace;
  trace.attention.push_back(map_of(1, 3, 4, {0.5, 0.5, 0, 0,  //
                                             0.7, 0.2, 0.1, 0,  //
                                             0.9, 0.05, 0.03, 0.02}));
  p.hook<double>()(0, 1, trace, Tensor<double>::from({3}, std::vector<double>{1, 1, 1}));
  CHECK(p.metrics()["bos_attn"].get<double>() == Approx((0.2 + 0.05) / 2));
  CHECK_THROWS_WITH(probe::BackcopyProbe(task, {{3, 6, 4}}, 1, 1), Catch::Contains("does not start with BOS"));
}

TEST_CASE("Probe summary: α₁, the slot's α and Sink rate, first-token norm ratios", "[probe]") {
  probe::ProbeResult r;
  r.sink = probe::SinkAccumulator(1, 2, 2);
  // Head 0 puts 0.8 of every row on the slot (column 0); head 1 puts everything on token 1 (column 1).
  r.sink.add_sample(std::vector<Tensor<double>>{Tensor<double>::from({2, 2, 3}, std::vector<double>{
                                                                                    0.8, 0.2, 0.0,  //
                                                                                    0.8, 0.1, 0.1,  //
                                                                                    0.0, 1.0, 0.0,  //
                                                                                    0.0, 1.0, 0.0})});
  r.hidden = probe::NormAccumulator(1, 2);
  r.values = probe::NormAccumulator(1, 2);
  r.hidden.add(0, Tensor<double>::from({1, 2, 1}, std::vector<double>{4.0, 2.0}));
  r.values.add(0, Tensor<double>::from({1, 1, 2, 1}, std::vector<double>{0.5, 2.0}));
  const auto j = probe::summary_record(r, 0.3);
  // α₁ (token 1 = column 1): head 0 (0.2 + 0.1)/2 = 0.15, head 1 1.0; mean 0.575. Sink₁: head 1 only: 50 %.
  CHECK(j["alpha1"].get<double>() == Approx(0.575));
  CHECK(j["sink1"].get<double>() == Approx(50.0));
  CHECK(j["slot_alpha"].get<double>() == Approx(0.4));  // head 0: 0.8, head 1: 0
  CHECK(j["slot_sink"].get<double>() == Approx(50.0));
  CHECK(j["h1_norm_ratio"][0].get<double>() == Approx(2.0));
  CHECK(j["v1_norm_ratio_min"].get<double>() == Approx(0.25));
  CHECK_FALSE(j.contains("alpha1_raw"));  // no raw maps were probed
}
