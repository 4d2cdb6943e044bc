// Trains a small SentencePiece model on part of tinyshakespeare; skipped when the corpus is absent.
#include <catch2/catch.hpp>

#include "io/tmpdir.hpp"
#include "sinklab/data/prepare.hpp"
#include "sinklab/data/tokenizer.hpp"

using namespace sinklab;
using namespace sinklab::data;

TEST_CASE("SentencePiece BPE: train, load, exact round trip, prepare cache", "[data][sentencepiece]") {
  const std::filesystem::path corpus = std::filesystem::path(SINKLAB_SHARED_DATA) / "tinyshakespeare" / "input.txt";
  if (!std::filesystem::exists(corpus)) {
    WARN("skipped: " << corpus << " not found");
    return;
  }
  test::TempDir dir("spm");
  const std::string text = io::read_text_file(corpus).substr(0, 300'000);
  io::write_file_atomic(dir / "train.txt", std::string_view(text));
  const auto model = SentencePieceTokenizer::train(dir / "train.txt", dir / "spm" / "shakespeare", 512);
  CHECK(std::filesystem::exists(model));
  const auto sp = SentencePieceTokenizer::load(model);
  CHECK(sp.vocab_size() == 512);
  CHECK(sp.eos_id() == 2);

  const std::string sample = text.substr(1000, 5000);
  const auto ids = sp.encode(sample);
  CHECK(ids.size() * 10 < sample.size() * 6);  // it compresses (only ~250 merges beyond the 256 byte pieces)
  CHECK(sp.decode(ids) == sample);             // newlines, double spaces, punctuation kept
  const std::string odd = "  leading spaces, tabs\tand\n\nblank lines; ünïcödé 漢字 and digits 12345  ";
  CHECK(sp.decode(sp.encode(odd)) == odd);  // unseen characters go through byte fallback

  const auto t = Tokenizer::from_spec("sentencepiece:" + model.string());
  CHECK(t.identity() == sp.identity());
  CHECK(t.decode(t.encode(odd)) == odd);

  PrepareOptions opt;
  opt.cache_dir = dir / "cache";
  const auto r1 = prepare_corpus(dir / "train.txt", t, opt);
  const auto r2 = prepare_corpus(dir / "train.txt", t, opt);
  CHECK_FALSE(r1.reused);
  CHECK(r2.reused);
  auto tokens = read_token_file(r1.token_file).tokens;
  CHECK(tokens.back() == 2);  // EOS after the document
  tokens.pop_back();
  CHECK(sp.decode(tokens) == text);

  CHECK_THROWS_WITH(SentencePieceTokenizer::load(dir / "nope.model"), Catch::Contains("nope.model"));
}

TEST_CASE("SentencePiece unigram trains and round-trips", "[data][sentencepiece]") {
  const std::filesystem::path corpus = std::filesystem::path(SINKLAB_SHARED_DATA) / "tinyshakespeare" / "input.txt";
  if (!std::filesystem::exists(corpus)) {
    WARN("skipped: " << corpus << " not found");
    return;
  }
  test::TempDir dir("spm");
  const std::string text = io::read_text_file(corpus).substr(0, 200'000);
  io::write_file_atomic(dir / "train.txt", std::string_view(text));
  const auto sp =
      SentencePieceTokenizer::load(SentencePieceTokenizer::train(dir / "train.txt", dir / "uni", 512, "unigram"));
  const std::string sample = text.substr(5000, 3000);
  CHECK(sp.decode(sp.encode(sample)) == sample);
  CHECK_THROWS_WITH(SentencePieceTokenizer::train(dir / "train.txt", dir / "x", 512, "wordpiece"),
                    Catch::Contains("'wordpiece'"));
}
