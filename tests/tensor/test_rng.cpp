#include <catch2/catch.hpp>
#include <cmath>

#include "sinklab/tensor.hpp"

using sinklab::Philox;
using sinklab::Tensor;

TEST_CASE("rng: Philox4x32-10 matches the Random123 known-answer vectors", "[rng]") {
  // Random123 kat_vectors: philox4x32 10 rounds, counter = 0, key = 0.
  auto z = Philox::generate(0, 0, 0);
  CHECK(z[0] == 0x6627e8d5u);
  CHECK(z[1] == 0xe169c58du);
  CHECK(z[2] == 0xbc57ac4cu);
  CHECK(z[3] == 0x9b00dbd8u);
  // counter = all ones, key = all ones.
  auto o = Philox::generate(~0ull, ~0ull, ~0ull);
  CHECK(o[0] == 0x408f276du);
  CHECK(o[1] == 0x41c83b0eu);
  CHECK(o[2] == 0xa20bc7c6u);
  CHECK(o[3] == 0x6d5451fdu);
}

TEST_CASE("rng: tensors depend only on seed and shape, not threads", "[rng]") {
  sinklab::set_num_threads(1);
  auto a = Tensor<float>::randn({300, 300}, 7);
  sinklab::set_num_threads(2);
  auto b = Tensor<float>::randn({300, 300}, 7);
  CHECK(a.to_vector() == b.to_vector());
  auto c = Tensor<float>::randn({300, 300}, 8);
  CHECK(a.to_vector() != c.to_vector());
  double mean = 0, var = 0;
  for (float x : a.to_vector()) mean += x;
  mean /= a.numel();
  for (float x : a.to_vector()) var += (x - mean) * (x - mean);
  var /= a.numel();
  CHECK(std::abs(mean) < 0.01);
  CHECK(std::abs(var - 1.0) < 0.02);
  auto u = Tensor<double>::uniform({1000}, 3, -2, 2).to_vector();
  for (double x : u) CHECK((x > -2 && x < 2));
}
