#include <catch2/catch.hpp>

#include "io/tmpdir.hpp"
#include "sinklab/data/prepare.hpp"

using namespace sinklab;
using namespace sinklab::data;

TEST_CASE("strip_gutenberg keeps the lines strictly between the markers, LF only", "[data][prepare]") {
  const std::string book =
      "The Project Gutenberg eBook\r\n*** START OF THE PROJECT GUTENBERG EBOOK X ***\r\nCall me Ishmael.\r\n"
      "Second line.\r\n*** END OF THE PROJECT GUTENBERG EBOOK X ***\r\nLicence text\r\n";
  CHECK(strip_gutenberg(book) == "Call me Ishmael.\nSecond line.\n");
  CHECK(strip_gutenberg("no markers\r\nhere") == "no markers\nhere");
}

TEST_CASE("prepare .txt and .jsonl with EOS separators, cached", "[data][prepare]") {
  test::TempDir dir("prepare");
  std::filesystem::create_directories(dir / "corpus" / "sub");
  io::write_file_atomic(dir / "corpus" / "a.txt", std::string_view("ab"));
  io::write_file_atomic(dir / "corpus" / "sub" / "b.jsonl",
                        std::string_view("{\"text\": \"cd\"}\n\n{\"text\": \"e\", \"id\": 2}\n"));
  io::write_file_atomic(dir / "corpus" / "ignored.md", std::string_view("zzz"));
  PrepareOptions opt;
  opt.cache_dir = dir / "cache";
  const ByteTokenizer tok{true};
  const std::vector<std::filesystem::path> inputs = {dir / "corpus"};
  const auto r1 = prepare_corpus(inputs, tok, opt);
  CHECK_FALSE(r1.reused);
  CHECK(r1.num_documents == 3);
  CHECK(r1.inputs.size() == 2);
  const std::vector<int32_t> want = {'a', 'b', 257, 'c', 'd', 257, 'e', 257};
  CHECK(read_token_file(r1.token_file).tokens == want);
  CHECK(r1.num_tokens == 8);

  const auto r2 = prepare_corpus(inputs, tok, opt);
  CHECK(r2.reused);
  CHECK(r2.token_file == r1.token_file);
  CHECK(r2.num_tokens == 8);

  // Another tokenizer must not reuse it; no EOS without specials.
  const auto r3 = prepare_corpus(inputs, ByteTokenizer{false}, opt);
  CHECK_FALSE(r3.reused);
  CHECK(r3.token_file != r1.token_file);
  CHECK(r3.num_tokens == 5);

  // Changing an input invalidates the cache.
  io::write_file_atomic(dir / "corpus" / "a.txt", std::string_view("abX"));
  const auto r4 = prepare_corpus(inputs, tok, opt);
  CHECK_FALSE(r4.reused);
  CHECK(r4.num_tokens == 9);
}

TEST_CASE("prepare: bad .jsonl lines name the file and line", "[data][prepare]") {
  test::TempDir dir("prepare");
  PrepareOptions opt;
  opt.cache_dir = dir / "cache";
  io::write_file_atomic(dir / "bad.jsonl", std::string_view("{\"text\": \"ok\"}\n{\"text\": oops}\n"));
  CHECK_THROWS_WITH(prepare_corpus(dir / "bad.jsonl", ByteTokenizer{}, opt),
                    Catch::Contains("bad.jsonl' line 2") && Catch::Contains("invalid JSON"));
  io::write_file_atomic(dir / "nofield.jsonl", std::string_view("{\"body\": \"x\"}\n"));
  CHECK_THROWS_WITH(prepare_corpus(dir / "nofield.jsonl", ByteTokenizer{}, opt),
                    Catch::Contains("line 1") && Catch::Contains("\"text\""));
  CHECK_THROWS_WITH(prepare_corpus(dir / "missing.txt", ByteTokenizer{}, opt), Catch::Contains("does not exist"));
}
