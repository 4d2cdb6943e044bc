// Real corpora from ../shared/data (see its SOURCES.md); skipped with a reason when absent.
#include <catch2/catch.hpp>

#include "io/tmpdir.hpp"
#include "sinklab/data/dataset.hpp"
#include "sinklab/data/prepare.hpp"

using namespace sinklab;
using namespace sinklab::data;

namespace {
const std::filesystem::path kData = SINKLAB_SHARED_DATA;
}

TEST_CASE("tinyshakespeare: byte-prepared tokens decode to the file exactly", "[data][corpora]") {
  const auto path = kData / "tinyshakespeare" / "input.txt";
  if (!std::filesystem::exists(path)) {
    WARN("skipped: " << path << " not found");
    return;
  }
  test::TempDir dir("corpora");
  PrepareOptions opt;
  opt.cache_dir = dir.path;
  const ByteTokenizer tok;
  const auto r = prepare_corpus(path, tok, opt);
  CHECK(r.num_tokens == 1115394);
  const auto tokens = read_token_file(r.token_file).tokens;
  CHECK(tok.decode(tokens) == io::read_text_file(path));
  auto [train, val] = TokenDataset(tokens, 256).split_tail(0.1);
  BatchSampler s(train, 8, 1);
  CHECK(s.next().inputs.size() == 8 * 256);
  CHECK(val.num_blocks() == 111539 / 257);
}

TEST_CASE("Gutenberg book: header and footer stripped, CRLF gone", "[data][corpora]") {
  const auto dir = kData / "gutenberg";
  if (!std::filesystem::exists(dir)) {
    WARN("skipped: " << dir << " not found");
    return;
  }
  std::filesystem::path book;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".txt" && e.file_size() < 400'000 && e.file_size() > 50'000) {
      book = e.path();
      break;
    }
  if (book.empty()) {
    WARN("skipped: no Gutenberg book between 50 and 400 kB in " << dir);
    return;
  }
  INFO(book);
  const auto raw = io::read_text_file(book);
  const auto text = strip_gutenberg(raw);
  CHECK(text.find('\r') == std::string::npos);
  CHECK(text.find("*** START OF") == std::string::npos);
  CHECK(text.find("*** END OF") == std::string::npos);
  CHECK(text.size() > raw.size() / 2);
  CHECK(text.size() < raw.size());
}
