// The umbrellas compile on their own, with no tensor headers and no SentencePiece.
#include <catch2/catch.hpp>

#include "sinklab/data.hpp"
#include "sinklab/io.hpp"

TEST_CASE("umbrella headers are self-contained", "[data][io]") {
  CHECK(sinklab::data::Tokenizer::from_spec("byte").vocab_size() == 256);
}
