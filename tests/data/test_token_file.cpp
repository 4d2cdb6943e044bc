#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <limits>

#include "io/tmpdir.hpp"
#include "sinklab/data/token_file.hpp"

using namespace sinklab;
using namespace sinklab::data;

namespace {
template <class T>
void put(std::string& s, T v) {
  s.append(reinterpret_cast<const char*>(&v), sizeof v);
}
void write_bytes(const std::filesystem::path& p, const std::string& s) {
  io::write_file_atomic(p, std::string_view(s));
}
std::string error_of(const std::filesystem::path& p, TokenFormat f = TokenFormat::Auto) {
  try {
    read_token_file(p, f);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("llm.c .bin written byte by byte", "[data][token_file]") {
  test::TempDir dir("tokfile");
  std::string s;
  put<int32_t>(s, 20240520);
  put<int32_t>(s, 1);
  put<int32_t>(s, 3);
  for (int i = 3; i < 256; ++i) put<int32_t>(s, 0);
  put<uint16_t>(s, 50256);
  put<uint16_t>(s, 7);
  put<uint16_t>(s, 65535);
  write_bytes(dir / "a.bin", s);
  const auto tf = read_token_file(dir / "a.bin");
  CHECK(tf.format == TokenFormat::LlmC);
  CHECK(tf.bytes_per_token == 2);
  CHECK(tf.tokens == std::vector<int32_t>{50256, 7, 65535});

  // llm.c Llama-3 files: magic 20240801, version 7, uint32 tokens.
  std::string s3;
  put<int32_t>(s3, 20240801);
  put<int32_t>(s3, 7);
  put<int32_t>(s3, 2);
  for (int i = 3; i < 256; ++i) put<int32_t>(s3, 0);
  put<uint32_t>(s3, 128000);
  put<uint32_t>(s3, 1);
  write_bytes(dir / "l3.bin", s3);
  CHECK(read_token_file(dir / "l3.bin").tokens == std::vector<int32_t>{128000, 1});

  // Malformed: count disagrees with size, bad version, short header.
  std::string bad = s;
  bad.resize(bad.size() - 2);
  write_bytes(dir / "short.bin", bad);
  CHECK_THAT(error_of(dir / "short.bin"), Catch::Contains("short.bin") && Catch::Contains("num_tokens"));
  std::string badv = s;
  badv[4] = 9;
  write_bytes(dir / "v9.bin", badv);
  CHECK_THAT(error_of(dir / "v9.bin"), Catch::Contains("magic/version") && Catch::Contains("(20240520, 9)"));
  write_bytes(dir / "tiny.bin", s.substr(0, 100));
  CHECK_THAT(error_of(dir / "tiny.bin"), Catch::Contains("header"));
}

TEST_CASE("llm.c writer round trip, uint16 and uint32", "[data][token_file]") {
  test::TempDir dir("tokfile");
  const std::vector<int32_t> small = {0, 1, 65535, 42};
  write_llmc_tokens(dir / "s.bin", small);
  auto tf = read_token_file(dir / "s.bin");
  CHECK(tf.tokens == small);
  CHECK(tf.version == 1);
  CHECK(std::filesystem::file_size(dir / "s.bin") == 1024 + 8);
  const std::vector<int32_t> big = {0, 65536, 128255};
  write_llmc_tokens(dir / "b.bin", big);
  tf = read_token_file(dir / "b.bin");
  CHECK(tf.tokens == big);
  CHECK(tf.bytes_per_token == 4);
}

TEST_CASE("LITPKDS written byte by byte", "[data][token_file]") {
  test::TempDir dir("tokfile");
  auto header = [](uint64_t version, uint8_t code, uint64_t chunk) {
    std::string s = "LITPKDS";
    put<uint64_t>(s, version);
    put<uint8_t>(s, code);
    put<uint64_t>(s, chunk);
    return s;
  };
  std::string s = header(1, 8, 4);
  REQUIRE(s.size() == 24);
  for (uint16_t t : {1, 2, 3, 50431}) put<uint16_t>(s, t);
  write_bytes(dir / "chunk0.bin", s);
  const auto tf = read_token_file(dir / "chunk0.bin");
  CHECK(tf.format == TokenFormat::Litpkds);
  CHECK(tf.chunk_size == 4);
  CHECK(tf.tokens == std::vector<int32_t>{1, 2, 3, 50431});

  std::string s32 = header(1, 4, 2);  // i32
  put<int32_t>(s32, 9);
  put<int32_t>(s32, 100000);
  write_bytes(dir / "i32.bin", s32);
  CHECK(read_token_file(dir / "i32.bin").tokens == std::vector<int32_t>{9, 100000});

  write_litpkds_u16(dir / "w.bin", tf.tokens);
  CHECK(io::read_text_file(dir / "w.bin") == s);

  std::string v2 = header(2, 8, 0);
  write_bytes(dir / "v2.bin", v2);
  CHECK_THAT(error_of(dir / "v2.bin"), Catch::Contains("v2.bin") && Catch::Contains("version"));
  std::string code9 = header(1, 9, 0);
  write_bytes(dir / "c9.bin", code9);
  CHECK_THAT(error_of(dir / "c9.bin"), Catch::Contains("dtype code: 9"));
  std::string longchunk = header(1, 8, 5) + std::string(8, '\0');
  write_bytes(dir / "lc.bin", longchunk);
  CHECK_THAT(error_of(dir / "lc.bin"), Catch::Contains("chunk size") && Catch::Contains("holds 4"));
  std::string neg = header(1, 4, 1);
  put<int32_t>(neg, -3);
  write_bytes(dir / "neg.bin", neg);
  CHECK_THAT(error_of(dir / "neg.bin"), Catch::Contains("negative"));
}

TEST_CASE("raw nanoGPT uint16 only by explicit flag", "[data][token_file]") {
  test::TempDir dir("tokfile");
  std::string s;
  for (uint16_t t : {5, 6, 7}) put<uint16_t>(s, t);
  write_bytes(dir / "train.bin", s);
  CHECK_THAT(error_of(dir / "train.bin"), Catch::Contains("RawU16"));
  CHECK(read_token_file(dir / "train.bin", TokenFormat::RawU16).tokens == std::vector<int32_t>{5, 6, 7});
  write_bytes(dir / "odd.bin", s + "x");
  CHECK_THAT(error_of(dir / "odd.bin", TokenFormat::RawU16), Catch::Contains("odd"));
  const std::vector<std::filesystem::path> both = {dir / "train.bin", dir / "train.bin"};
  CHECK(read_token_files(both, TokenFormat::RawU16).size() == 6);
}

TEST_CASE("token files: a directory, FIFO or device is an error naming it, not a hang or bad_alloc",
          "[data][token_file]") {
  test::TempDir dir("tokfile");
  CHECK_THAT(error_of(dir.path), Catch::Contains(dir.path.string()) && Catch::Contains("a directory"));
  const auto fifo = dir / "pipe.bin";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);  // no writer: a blocking open would wait forever
  CHECK_THAT(error_of(fifo), Catch::Contains("a FIFO, not a regular file"));
  CHECK_THAT(error_of("/dev/zero", TokenFormat::RawU16), Catch::Contains("a character device"));
  CHECK_THAT(error_of(dir / "absent.bin"), Catch::Contains("absent.bin"));
}

TEST_CASE("token files: header counts are checked against the size, float tokens must be whole ids",
          "[data][token_file]") {
  test::TempDir dir("tokfile");
  std::string s;
  put<int32_t>(s, 20240520);
  put<int32_t>(s, 1);
  put<int32_t>(s, std::numeric_limits<int32_t>::max());  // claims 2^31 - 1 tokens in a 1 KiB file
  for (int i = 3; i < 256; ++i) put<int32_t>(s, 0);
  write_bytes(dir / "big.bin", s);
  CHECK_THAT(error_of(dir / "big.bin"), Catch::Contains("num_tokens") && Catch::Contains("2147483647"));
  std::string f = "LITPKDS";
  put<uint64_t>(f, 1);
  f.push_back(6);  // f32 tokens
  put<uint64_t>(f, 2);
  put<float>(f, 3.0f);
  put<float>(f, 1.9f);
  write_bytes(dir / "f32.bin", f);
  CHECK_THAT(error_of(dir / "f32.bin"), Catch::Contains("token 1 = 1.9") && Catch::Contains("not a token id"));
}
