#include <catch2/catch.hpp>
#include <numeric>

#include "sinklab/data/transforms.hpp"

using namespace sinklab;
using namespace sinklab::data;

namespace {
BatchSampler sampler() {
  std::vector<int32_t> t(400);
  std::iota(t.begin(), t.end(), 1000);
  return BatchSampler(TokenDataset(std::move(t), 8), 3, 5);
}
}  // namespace

TEST_CASE("random tokens at [a,b): reproducible per sample, consistent with targets", "[data][transforms]") {
  auto s = sampler();
  auto b = s.next();
  const auto orig = b;
  const RandomTokens rt{2, 5, 50, 11};
  rt(b);
  for (int64_t r = 0; r < 3; ++r) {
    auto in = b.input_row(r);
    auto tg = b.target_row(r);
    for (int64_t i = 0; i < 8; ++i) {
      const auto k = static_cast<std::size_t>(r * 8 + i);
      if (i >= 2 && i < 5)
        CHECK((in[i] >= 0 && in[i] < 50));
      else
        CHECK(in[i] == orig.inputs[k]);
      if (i >= 1 && i <= 4)
        CHECK(tg[i] == in[i + 1]);
      else
        CHECK(tg[i] == orig.targets[k]);
    }
  }
  // Same sample id -> same tokens, whatever the batch.
  std::vector<int32_t> in(8, 0), tg(8, 0);
  random_tokens(in, tg, 2, 5, 50, 11, static_cast<uint64_t>(b.sample_ids[1]));
  for (int i = 2; i < 5; ++i) CHECK(in[i] == b.input_row(1)[i]);
  CHECK_THROWS_WITH(random_tokens(in, tg, 6, 9, 50, 1, 0), Catch::Contains("outside sequence length 8"));
}

TEST_CASE("fixed token and prefix-LM mask", "[data][transforms]") {
  auto s = sampler();
  auto b = s.next();
  FixedToken{0, 7}(b);
  FixedToken{3, 9}(b);
  PrefixLmMask{2}(b);
  for (int64_t r = 0; r < 3; ++r) {
    CHECK(b.input_row(r)[0] == 7);
    CHECK(b.input_row(r)[3] == 9);
    CHECK(b.target_row(r)[0] == kIgnoreIndex);
    CHECK(b.target_row(r)[1] == kIgnoreIndex);
    CHECK(b.target_row(r)[2] == 9);
    CHECK(b.target_row(r)[3] == b.input_row(r)[4]);
  }
}
