// llama2.c legacy files written here: every header field checked and the size matched before anything is read.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "io/tmpdir.hpp"
#include "model_files.hpp"
#include "sinklab/probe/llama2c.hpp"

using namespace sinklab;

namespace {
void write(const std::filesystem::path& p, const std::vector<std::byte>& bytes) {
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}
std::string error_of(const std::filesystem::path& p) {
  try {
    probe::load_llama2c(p.string());
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("llama2.c: a file written from the header loads into every core tensor", "[nn][llama2c]") {
  test::TempDir dir("l2c");
  for (int32_t vocab : {11, -11}) {  // shared classifier, then an untied one after the weights
    test::Llama2cHeader h;
    h.vocab_size = vocab;
    write(dir / "m.bin", test::llama2c_bytes(h));
    const auto m = probe::load_llama2c((dir / "m.bin").string());
    CHECK(m.config.d_model == 8);
    CHECK(m.config.n_kv_heads == 1);
    CHECK(m.config.tie_embeddings == (vocab > 0));
    std::size_t n = 0;
    io::for_each_core_tensor(m.config, [&](const std::string& name, const Shape& shape) {
      INFO(name);
      REQUIRE(m.state.count(name));
      CHECK(m.state.at(name).shape() == shape);
      ++n;
    });
    CHECK(n == m.state.size());
    CHECK(m.state.at("model.embed_tokens.weight").data()[3] == 0.003f);  // floats follow the header in order
  }
}

TEST_CASE("llama2.c: every header field is checked before allocation, naming file and field", "[nn][llama2c]") {
  test::TempDir dir("l2c");
  const auto p = dir / "m.bin";
  auto error_for = [&](test::Llama2cHeader h, int64_t extra_bytes = 0) {
    auto bytes = test::llama2c_bytes(test::Llama2cHeader{});  // the valid file's body, then h's header
    std::memcpy(bytes.data(), &h, 28);
    bytes.resize(std::size_t(int64_t(bytes.size()) + extra_bytes));
    write(p, bytes);
    return error_of(p);
  };
  CHECK(error_for({}).empty());
  CHECK_THAT(error_for({}, 4), Catch::Contains(p.string()) && Catch::Contains("does not match the header"));
  CHECK_THAT(error_for({}, -1), Catch::Contains("does not match the header"));
  CHECK_THAT(error_for({.dim = 0}), Catch::Contains("dim = 0 is out of range"));
  CHECK_THAT(error_for({.hidden_dim = -16}), Catch::Contains("hidden_dim = -16"));
  CHECK_THAT(error_for({.n_layers = 1 << 30}), Catch::Contains("n_layers = 1073741824 is out of range"));
  CHECK_THAT(error_for({.n_heads = 0}), Catch::Contains("n_heads = 0"));  // was a division by zero
  CHECK_THAT(error_for({.n_heads = 3}), Catch::Contains("n_heads does not divide dim"));
  CHECK_THAT(error_for({.n_kv_heads = 0}), Catch::Contains("n_kv_heads = 0"));
  CHECK_THAT(error_for({.n_heads = 4, .n_kv_heads = 3}), Catch::Contains("n_kv_heads = 3 is out of range [1, 4]") ||
                                                             Catch::Contains("n_kv_heads does not divide n_heads"));
  CHECK_THAT(error_for({.n_heads = 4, .n_kv_heads = 4}), Catch::Contains("does not match the header"));
  CHECK_THAT(error_for({.dim = 6, .n_heads = 2}), Catch::Contains("is odd"));
  CHECK_THAT(error_for({.vocab_size = 0}), Catch::Contains("|vocab_size| = 0"));
  CHECK_THAT(error_for({.vocab_size = std::numeric_limits<int32_t>::min()}), Catch::Contains("|vocab_size|"));
  CHECK_THAT(error_for({.seq_len = -4}), Catch::Contains("seq_len = -4"));
  // Values whose products overflow int64 if multiplied unchecked.
  CHECK_THAT(error_for({.dim = std::numeric_limits<int32_t>::max(), .hidden_dim = std::numeric_limits<int32_t>::max()}),
             Catch::Contains("dim = 2147483647 is out of range"));
  write(p, std::vector<std::byte>(20));
  CHECK_THAT(error_of(p), Catch::Contains("too short for a llama2.c header"));
}

TEST_CASE("llama2.c: a directory or FIFO is refused by name", "[nn][llama2c]") {
  test::TempDir dir("l2c");
  CHECK_THAT(error_of(dir.path), Catch::Contains(dir.path.string()) && Catch::Contains("a directory"));
  const auto fifo = dir / "pipe.bin";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_THAT(error_of(fifo), Catch::Contains("a FIFO, not a regular file"));
  CHECK_THAT(error_of("/dev/zero"), Catch::Contains("a character device"));
  CHECK_THAT(error_of(dir / "absent.bin"), Catch::Contains("absent.bin") && Catch::Contains("No such file"));
}
