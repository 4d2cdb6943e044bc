#include <catch2/catch.hpp>

#include "sinklab/data/windows.hpp"

using namespace sinklab;
using data::kIgnoreIndex;

TEST_CASE("windows: bos puts BOS before every seq_len tokens of the stream, dropping only the tail", "[data]") {
  const std::vector<int32_t> stream = {1, 2, 3, 9, 4, 5, 6, 7, 9};  // 9 = EOS
  CHECK(data::bos_windows(stream, 4, 100) == std::vector<int32_t>{100, 1, 2, 3, 9, 100, 4, 5, 6, 7});
}

TEST_CASE("windows: documents start windows at documents and pad their ends", "[data]") {
  const int32_t P = kIgnoreIndex;
  const std::vector<int32_t> stream = {1, 2, 9, 3, 4, 5, 6, 9, 7};  // documents [1 2 EOS] [3 4 5 6 EOS] [7]
  const auto w = data::document_windows(stream, 3, 100, 9);
  CHECK(w == std::vector<int32_t>{100, 1, 2, 9,  //
                                  100, 3, 4, 5,  //
                                  100, 6, 9, P,  //
                                  100, 7, P, P});
  // As batches: padding is an ignored target and input token 0, and every row starts with BOS.
  data::BatchSampler s(data::TokenDataset(w, 3), 4, 0, /*shuffle=*/false);
  const auto b = s.next();
  CHECK(b.inputs == std::vector<int32_t>{100, 1, 2, 100, 3, 4, 100, 6, 9, 100, 7, 0});
  CHECK(b.targets == std::vector<int32_t>{1, 2, 9, 3, 4, 5, 6, 9, P, 7, P, P});
  CHECK_THROWS_WITH(data::parse_window_layout("aligned"), Catch::Contains("data.windows"));
}
