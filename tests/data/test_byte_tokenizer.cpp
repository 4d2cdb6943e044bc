#include <catch2/catch.hpp>

#include "sinklab/data/tokenizer.hpp"

using namespace sinklab;
using namespace sinklab::data;

TEST_CASE("ByteTokenizer round-trips every byte exactly", "[data][tokenizer]") {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  all += "h\xc3\xa9llo \xff\xfe\r\n\0x";
  for (bool specials : {false, true}) {
    const ByteTokenizer t{specials};
    const auto ids = t.encode(all);
    REQUIRE(ids.size() == all.size());
    CHECK(ids[255] == 255);
    CHECK(t.decode(ids) == all);
    CHECK(t.vocab_size() == (specials ? 258 : 256));
  }
  const ByteTokenizer t{true};
  CHECK(t.eos_id() == 257);
  CHECK(t.bos_id() == 256);
  const std::vector<int32_t> with_specials = {256, 'a', 257, 'b'};
  CHECK(t.decode(with_specials) == "ab");
  CHECK_THROWS_WITH(ByteTokenizer{false}.decode(with_specials), Catch::Contains("id 256"));
}

TEST_CASE("Tokenizer runtime wrapper", "[data][tokenizer]") {
  const auto t = Tokenizer::from_spec("byte+eos");
  CHECK(t.vocab_size() == 258);
  CHECK(t.eos_id() == 257);
  CHECK(t.identity() == "byte+bos_eos");
  CHECK(t.decode(t.encode("abc")) == "abc");
  CHECK_THROWS_WITH(Tokenizer::from_spec("bpe"), Catch::Contains("unknown tokenizer 'bpe'"));
}
