#include <catch2/catch.hpp>
#include <cstring>

#include "sinklab/io/safetensors.hpp"
#include "tmpdir.hpp"

using namespace sinklab;

namespace {
std::vector<std::byte> bytes_of(const std::string& s) {
  std::vector<std::byte> b(s.size());
  std::memcpy(b.data(), s.data(), s.size());
  return b;
}

// A file as the Python `safetensors` package writes it, built by hand:
// save_file({"a": torch.tensor([1.0, 2.0]), "b": torch.tensor([[7]], dtype=torch.int32)}, metadata={"format": "pt"})
std::vector<std::byte> hand_built() {
  std::string header = R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                       R"("b":{"dtype":"I32","shape":[1,1],"data_offsets":[8,12]}})";
  while ((8 + header.size()) % 8) header += ' ';
  std::string file(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(file.data(), &n, 8);
  file += header;
  const float a[2] = {1.0f, 2.0f};
  const int32_t b = 7;
  file.append(reinterpret_cast<const char*>(a), 8);
  file.append(reinterpret_cast<const char*>(&b), 4);
  return bytes_of(file);
}

std::string error_of(const std::vector<std::byte>& bytes) {
  try {
    io::parse_safetensors(bytes, "model.safetensors");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::vector<std::byte> with_header(const std::string& header, std::size_t data_bytes) {
  std::string file(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(file.data(), &n, 8);
  return bytes_of(file + header + std::string(data_bytes, '\0'));
}
}  // namespace

TEST_CASE("safetensors: our writer produces the byte-exact reference file", "[io][safetensors]") {
  io::SafeTensors st;
  st.metadata["format"] = "pt";
  const float a[2] = {1.0f, 2.0f};
  const int32_t b[1] = {7};
  st.tensors["a"] = io::make_float_entry(a, {2});
  st.tensors["b"] = io::make_entry<int32_t>(b, {1, 1}, "I32");
  const auto ours = io::serialize_safetensors(st);
  const auto ref = hand_built();
  REQUIRE(ours.size() == ref.size());
  CHECK(std::memcmp(ours.data(), ref.data(), ref.size()) == 0);
  CHECK((ours.size() - 12) % 8 == 0);  // data section 8-byte aligned
}

TEST_CASE("safetensors: read the hand-built file", "[io][safetensors]") {
  const auto st = io::parse_safetensors(hand_built(), "ref");
  CHECK(st.metadata.at("format") == "pt");
  CHECK(st.at("a").shape == std::vector<int64_t>{2});
  CHECK(io::get_float(st, "a") == std::vector<float>{1.0f, 2.0f});
  CHECK(io::get_float(st, "b") == std::vector<float>{7.0f});
}

TEST_CASE("safetensors: round trip of all dtypes through a file", "[io][safetensors]") {
  test::TempDir dir("st");
  const std::vector<float> v = {0.0f, -1.5f, 3.140625f, 65504.0f, 1e-7f, -0.0f};
  io::SafeTensors st;
  for (const char* dt : {"F32", "F64", "BF16", "F16"})
    st.tensors[std::string("w.") + dt] = io::make_float_entry(v, {2, 3}, dt);
  const std::vector<int64_t> i64 = {1, -2, 3};
  const std::vector<uint16_t> u16 = {0, 65535};
  const std::vector<uint8_t> u8 = {0, 255, 7};
  const std::vector<int32_t> i32 = {-5};
  st.tensors["i64"] = io::make_entry<int64_t>(i64, {3}, "I64");
  st.tensors["u16"] = io::make_entry<uint16_t>(u16, {2}, "U16");
  st.tensors["u8"] = io::make_entry<uint8_t>(u8, {3}, "U8");
  st.tensors["i32"] = io::make_entry<int32_t>(i32, {}, "I32");  // scalar
  st.tensors["empty"] = io::make_entry<float>(std::span<const float>(), {0, 4}, "F32");
  const auto p = dir / "m.safetensors";
  io::write_safetensors(p, st);
  const auto back = io::read_safetensors(p);
  REQUIRE(back.tensors.size() == st.tensors.size());
  for (const auto& [name, e] : st.tensors) {
    INFO(name);
    CHECK(back.at(name).dtype == e.dtype);
    CHECK(back.at(name).shape == e.shape);
    CHECK(back.at(name).data == e.data);
  }
  CHECK(io::get_float(back, "w.F32") == v);
  CHECK(io::get_float(back, "w.F16") ==
        std::vector<float>{0.0f, -1.5f, 3.140625f, 65504.0f, io::half_to_float(io::float_to_half(1e-7f)), -0.0f});
  CHECK(io::get_float(back, "w.BF16")[2] == 3.140625f);
  CHECK(io::get_float(back, "i64") == std::vector<float>{1, -2, 3});
  CHECK(io::get_float(back, "u16") == std::vector<float>{0, 65535});
}

TEST_CASE("safetensors: half conversion edge cases", "[io][safetensors]") {
  CHECK(io::float_to_half(1.0f) == 0x3c00);
  CHECK(io::float_to_half(65504.0f) == 0x7bff);
  CHECK(io::float_to_half(65520.0f) == 0x7c00);            // rounds to inf
  CHECK(io::float_to_half(5.9604645e-08f) == 0x0001);      // smallest subnormal
  CHECK(io::float_to_half(1.0f + 1.0f / 2048) == 0x3c00);  // tie -> even
  CHECK(io::float_to_half(1.0f + 3.0f / 2048) == 0x3c02);  // tie -> even (up)
  CHECK(std::isnan(io::half_to_float(io::float_to_half(NAN))));
  for (uint32_t h = 0; h < 0x7c00; ++h) CHECK(io::float_to_half(io::half_to_float(static_cast<uint16_t>(h))) == h);
}

TEST_CASE("safetensors: corrupted inputs give errors naming file and tensor", "[io][safetensors]") {
  auto full = hand_built();
  CHECK_THAT(error_of(std::vector<std::byte>(full.begin(), full.begin() + 5)),
             Catch::Contains("truncated") && Catch::Contains("model.safetensors"));
  CHECK_THAT(error_of(std::vector<std::byte>(full.begin(), full.begin() + 40)), Catch::Contains("header length"));
  CHECK_THAT(error_of(std::vector<std::byte>(full.begin(), full.end() - 2)),
             Catch::Contains("'b'") && Catch::Contains("out of range"));
  CHECK_THAT(error_of(with_header("{\"a\": [1,", 0)), Catch::Contains("bad JSON"));
  CHECK_THAT(error_of(with_header(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8)),
             Catch::Contains("'a'") && Catch::Contains("needs 12 bytes"));
  CHECK_THAT(
      error_of(with_header(
          R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
          8)),
      Catch::Contains("overlap"));
  CHECK_THAT(error_of(with_header(R"({"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", 8)),
             Catch::Contains("unknown dtype 'Q4'"));
  CHECK_THAT(error_of(with_header(R"({"a":{"dtype":"F32","shape":[2]}})", 8)), Catch::Contains("data_offsets"));
}

TEST_CASE("safetensors: a failed write leaves the previous checkpoint intact", "[io][safetensors]") {
  test::TempDir dir("st");
  const auto p = dir / "ckpt.safetensors";
  io::SafeTensors good;
  const float a[2] = {1.0f, 2.0f};
  good.tensors["a"] = io::make_float_entry(a, {2});
  io::write_safetensors(p, good);
  io::SafeTensors bad = good;
  bad.tensors["b"] = io::TensorEntry{"F32", {4}, std::vector<std::byte>(3)};  // inconsistent: fails mid-serialise
  CHECK_THROWS_WITH(io::write_safetensors(p, bad), Catch::Contains("'b'"));
  CHECK(io::get_float(io::read_safetensors(p), "a") == std::vector<float>{1.0f, 2.0f});
  // And a writer that dies after writing part of the bytes.
  CHECK_THROWS(io::write_file_atomic(p, [](std::ostream& os) {
    os << "12345678";
    throw Error("killed");
  }));
  CHECK(io::read_safetensors(p).tensors.size() == 1);
}
