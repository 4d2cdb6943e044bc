// The pieces of data-parallel training that need no MPI: the flat layout and its shard boundaries (flat_layout.hpp),
// AdamW on a slice of a parameter (what a ZeRO-1 rank does) against AdamW on the whole, and the samplers' skip()
// against next() (how a rank passes over the other ranks' micro-batches).
#include <catch2/catch.hpp>
#include <cstring>

#include "sinklab/data/bigram_backcopy.hpp"
#include "sinklab/data/dataset.hpp"
#include "sinklab/dist/flat_layout.hpp"

using namespace sinklab;

static nn::ParamList<float> params_of(std::initializer_list<int64_t> sizes) {
  nn::ParamList<float> ps;
  int k = 0;
  for (int64_t n : sizes) ps.push_back({"p" + std::to_string(k), autograd::Var<float>(Tensor<float>::randn({n}, k + 1), true), true}), ++k;
  return ps;
}

TEST_CASE("dist: the flat layout aligns every parameter and cuts shards at norm-chunk boundaries", "[dist]") {
  const auto ps = params_of({70000, 33, 2 * optim::kNormChunk + 5, 5, 1});
  const dist::FlatLayout layout(ps);
  for (std::size_t i = 0; i < layout.params(); ++i) CHECK(layout.offset(i) % dist::FlatLayout::kAlign == 0);
  for (int ranks : {1, 2, 3, 7, 64}) {
    INFO(ranks << " ranks");
    const auto part = layout.partition(ranks);
    REQUIRE(part.ranks() == ranks);
    CHECK(part.offset(0) == 0);
    CHECK(part.total() == layout.total());
    int64_t covered = 0;
    for (int r = 0; r < ranks; ++r) {
      CHECK(part.count(r) >= 0);
      for (const auto& s : layout.segments(part.offset(r), part.offset(r) + part.count(r))) {
        CHECK(s.begin % optim::kNormChunk == 0);  // a chunk never straddles two ranks
        CHECK((s.begin + s.count == layout.numel(s.param) || s.count % optim::kNormChunk == 0));
        covered += s.count;
      }
    }
    int64_t elements = 0;
    for (std::size_t i = 0; i < layout.params(); ++i) elements += layout.numel(i);
    CHECK(covered == elements);  // every element on exactly one rank
  }
  // Two ranks split a 3-chunk parameter rather than the whole buffer: the shards are within a chunk of even.
  const auto two = layout.partition(2);
  CHECK(std::abs(two.count(0) - two.count(1)) <= optim::kNormChunk);
}

TEST_CASE("dist: gradients pack with -0.0 for a missing one, and unpack to the same tensors", "[dist]") {
  auto ps = params_of({20, 3});
  ps[0].var.mutable_grad() = Tensor<float>::randn({20}, 9);
  const dist::FlatLayout layout(ps);
  std::vector<float, HostAllocator<float>> flat(std::size_t(layout.total()));
  const auto has = layout.pack_grads(ps, flat.data());
  CHECK(has == std::vector<int64_t>{1, 0});
  CHECK(std::signbit(flat[std::size_t(layout.offset(1))]));
  const Tensor<float> before = ps[0].var.grad().clone();
  layout.unpack_grads(flat.data(), has, ps);
  CHECK(std::memcmp(ps[0].var.grad().data(), before.data(), 20 * sizeof(float)) == 0);
  CHECK(!ps[1].var.has_grad());
}

TEST_CASE("dist: AdamW on slices that start at chunk boundaries equals AdamW on the whole, bit for bit", "[dist]") {
  const optim::AdamWConfig cfg{0.9, 0.95, 1e-8, 0.1, false};
  const int64_t n = optim::kNormChunk + 3 * optim::kAdamWChunk + 11;
  auto w = Tensor<float>::randn({n}, 1), m = Tensor<float>::randn({n}, 2), v = Tensor<float>::randn({n}, 3);
  v.array() = v.array().abs();
  const auto g = Tensor<float>::randn({n}, 4);
  auto w2 = w.clone(), m2 = m.clone(), v2 = v.clone();
  optim::adamw_update(cfg, 3, 1e-3, 0.1, w.data(), m.data(), v.data(), g.data(), n);
  const int64_t cut = optim::kNormChunk;  // where a shard boundary may fall
  optim::adamw_update(cfg, 3, 1e-3, 0.1, w2.data(), m2.data(), v2.data(), g.data(), cut);
  optim::adamw_update(cfg, 3, 1e-3, 0.1, w2.data() + cut, m2.data() + cut, v2.data() + cut, g.data() + cut, n - cut);
  CHECK(std::memcmp(w.data(), w2.data(), std::size_t(n) * 4) == 0);
  CHECK(std::memcmp(m.data(), m2.data(), std::size_t(n) * 4) == 0);
  CHECK(std::memcmp(v.data(), v2.data(), std::size_t(n) * 4) == 0);
}

TEST_CASE("dist: skip() moves a sampler exactly as next() does, across epochs", "[dist]") {
  std::vector<int32_t> tokens(400);
  for (std::size_t i = 0; i < tokens.size(); ++i) tokens[i] = int32_t(i % 50);
  data::BatchSampler a(data::TokenDataset(tokens, 7), 3, 5), b(data::TokenDataset(tokens, 7), 3, 5);
  for (int i = 0; i < 40; ++i) {  // 50 blocks / 3 = 16 batches an epoch: two epoch changes
    const auto x = a.next();
    if (i % 3 == 1) {
      b.skip();
      continue;
    }
    CHECK(b.next().inputs == x.inputs);
  }
  CHECK(a.state_json() == b.state_json());

  auto task = std::make_shared<const data::BigramBackcopy>(data::BackcopySpec{});
  data::BackcopySampler c(task, 2, 16, 7), d(task, 2, 16, 7);
  c.next();
  d.skip();
  CHECK(c.next().inputs == d.next().inputs);
  CHECK(c.state_json() == d.state_json());
}
