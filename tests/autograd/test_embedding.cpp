// embedding: gather forward, deterministic scatter-add backward with repeated ids, range errors, empty ids.
#include "grad_helpers.hpp"

using namespace sinklab;
using namespace sinklab::autograd;
using namespace sinklab::test;
using Catch::Matchers::Contains;

TEST_CASE("embedding: gathers rows for ids of any shape", "[autograd][embedding]") {
  const auto w = leaf({5, 3}, 81);
  const auto ids = Tensor<int32_t>::from({2, 2}, {4, 0, 4, 2});
  const auto y = embedding(w, ids);
  REQUIRE(y.shape() == Shape{2, 2, 3});
  for (int64_t j = 0; j < 3; ++j) {
    CHECK(y.value()[{0, 0, j}] == w.value()[{4, j}]);
    CHECK(y.value()[{1, 1, j}] == w.value()[{2, j}]);
  }
}

TEST_CASE("embedding: gradcheck with repeated ids", "[autograd][embedding]") {
  const auto ids = Tensor<int32_t>::from({2, 3}, {1, 3, 1, 0, 1, 3});
  SINKLAB_CHECK_GRAD([ids](const auto& v) { return embedding(v[0], ids); }, leaf({4, 3}, 82));
  SINKLAB_CHECK_GRAD([ids](const auto& v) { return embedding(transpose(v[0], 0, 1), ids); }, leaf({3, 4}, 83));
  auto w = leaf({4, 2}, 84);
  sum(embedding(w, ids)).backward();
  CHECK(w.grad().to_vector() == std::vector<double>{1, 1, 3, 3, 0, 0, 2, 2});  // counts per id
}

TEST_CASE("embedding: empty ids and errors", "[autograd][embedding][errors]") {
  auto w = leaf({4, 2}, 85);
  const auto y = embedding(w, Tensor<int32_t>({0}));
  CHECK(y.shape() == Shape{0, 2});
  sum(y).backward();
  CHECK(w.grad().to_vector() == std::vector<double>(8, 0.0));
  CHECK_THROWS_WITH(embedding(w, Tensor<int32_t>::from({3}, {0, 7, 1})), Contains("id 7") && Contains("V = 4"));
  CHECK_THROWS_WITH(embedding(w, Tensor<int32_t>::from({1}, {-1})), Contains("id -1"));
}
