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
  CHECK(st.at("b").dtype == "I32");
  CHECK(st.at("b").data.size() == 4);
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
  // Integer tensors are kept as they are, but never taken for float weights.
  CHECK_THROWS_WITH(io::get_float(back, "i64"), Catch::Contains("tensor 'i64' has dtype I64"));
  CHECK_THROWS_WITH(io::to_float(back.at("u16")), Catch::Contains("has dtype U16") && Catch::Contains("float tensor"));
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
  CHECK_THAT(error_of(with_header("{\"a\": [1,", 0)),
             Catch::Contains("model.safetensors' header:1:10: invalid JSON") && !Catch::Contains("json.exception"));
  CHECK_THAT(error_of(with_header(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8)),
             Catch::Contains("'a'") && Catch::Contains("needs 3 x 4 bytes, more than the 8-byte data section"));
  CHECK_THAT(
      error_of(with_header(
          R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
          8)),
      Catch::Contains("overlap"));
  CHECK_THAT(error_of(with_header(R"({"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", 8)),
             Catch::Contains("unknown dtype 'Q4'"));
  CHECK_THAT(error_of(with_header(R"({"a":{"dtype":"F32","shape":[2]}})", 8)),
             Catch::Contains("'a'") && Catch::Contains("missing field 'data_offsets'"));
}

TEST_CASE("safetensors: the tensors tile the data section exactly", "[io][safetensors]") {
  auto full = hand_built();
  auto longer = full;
  longer.push_back(std::byte{0});
  CHECK_THAT(error_of(longer), Catch::Contains("the data section is 13 bytes but the tensors end at 12") &&
                                   Catch::Contains("1 trailing bytes"));
  CHECK_THAT(
      error_of(with_header(
          R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
          12)),
      Catch::Contains("bytes 4 to 8 of the data section belong to no tensor (gap before 'b')"));
  CHECK_THAT(error_of(with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8)),
             Catch::Contains("gap before 'a'"));
  CHECK_THAT(error_of(with_header("{}", 4)), Catch::Contains("4 trailing bytes"));
  CHECK(io::parse_safetensors(with_header("{}", 0), "empty").tensors.empty());
  // Empty tensors take no bytes, anywhere in the order.
  CHECK(io::parse_safetensors(with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                          R"("e":{"dtype":"F32","shape":[0,5],"data_offsets":[4,4]}})",
                                          4),
                              "ok")
            .tensors.size() == 2);
}

TEST_CASE("safetensors: every header field is checked, naming the tensor", "[io][safetensors]") {
  auto entry = [](const std::string& fields) { return with_header(R"({"t":{)" + fields + "}}", 8); };
  const std::string offsets = R"("data_offsets":[0,8])";
  CHECK_THAT(error_of(entry(R"("dtype":"F32","shape":[-2],)" + offsets)), Catch::Contains("tensor 't': shape[0]: -2"));
  CHECK_THAT(error_of(entry(R"("dtype":"F32","shape":[2.0],)" + offsets)), Catch::Contains("expected an integer"));
  CHECK_THAT(error_of(entry(R"("dtype":"F32","shape":[true],)" + offsets)), Catch::Contains("boolean"));
  CHECK_THAT(error_of(entry(R"("dtype":"F32","shape":"2",)" + offsets)), Catch::Contains("shape is string"));
  CHECK_THAT(error_of(entry(R"("dtype":32,"shape":[2],)" + offsets)), Catch::Contains("dtype: expected a string"));
  CHECK_THAT(error_of(entry(R"("dtype":"F32","shape":[2],"data_offsets":[0,8.0])")),
             Catch::Contains("data_offsets[1]: expected an integer"));
  CHECK_THAT(error_of(entry(R"("dtype":"F32","shape":[2],"data_offsets":[0,-8])")), Catch::Contains("data_offsets[1]"));
  CHECK_THAT(error_of(entry(R"("dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551615])")),
             Catch::Contains("out of range"));
  CHECK_THAT(error_of(entry(R"("dtype":"F32","shape":[0],"data_offsets":[8,0])")),
             Catch::Contains("end before they begin"));
  CHECK_THAT(error_of(entry(R"("dtype":"F32","shape":[2],"data_offsets":[0,8,8])")),
             Catch::Contains("data_offsets must be [begin, end]"));
  CHECK_THAT(error_of(entry(R"("dtype":"F32","shape":[2],"offsets":[0,8],)" + offsets)),
             Catch::Contains("unknown field 'offsets'"));
  CHECK_THAT(error_of(with_header(R"({"t": [1, 2]})", 0)), Catch::Contains("tensor 't': entry is array"));
  CHECK_THAT(error_of(with_header(R"({"__metadata__": {"k": 1}})", 0)), Catch::Contains("__metadata__['k']"));
  CHECK_THAT(error_of(with_header(R"([1])", 0)), Catch::Contains("header is array"));
  // Shapes whose element count overflows (2^32 x 2^32 x 2 wraps to 0 in 64 bits) or needs more bytes than exist.
  CHECK_THAT(error_of(entry(R"("dtype":"F32","shape":[4294967296,4294967296,2],)" + offsets)),
             Catch::Contains("more than 2^63 elements"));
  CHECK_THAT(error_of(entry(R"("dtype":"F32","shape":[4294967296,4294967296,0],)" + offsets)),
             Catch::Contains("more than 2^63 elements"));
  CHECK_THAT(error_of(entry(R"("dtype":"F64","shape":[1073741824,1073741824],)" + offsets)),
             Catch::Contains("more than the 8-byte data section"));
  std::string ones = "1";
  for (int i = 1; i < 40; ++i) ones += ",1";
  CHECK_THAT(error_of(entry(R"("dtype":"F32","shape":[)" + ones + "]," + offsets)), Catch::Contains("40 dimensions"));
  // Header length beyond the file, or beyond the reference implementation's limit.
  auto bytes = hand_built();
  const uint64_t huge = uint64_t(1) << 63;
  std::memcpy(bytes.data(), &huge, 8);
  CHECK_THAT(error_of(bytes), Catch::Contains("header length 9223372036854775808 goes beyond the file"));
  CHECK_THAT(error_of(with_header(std::string(100, '[') + std::string(100, ']'), 0)),
             Catch::Contains("nested deeper than 64 levels"));
}

TEST_CASE("safetensors: the header alone, read from the file", "[io][safetensors]") {
  test::TempDir dir("st");
  const auto p = dir / "m.safetensors";
  const auto full = hand_built();
  io::write_file_atomic(p, std::span<const std::byte>(full));
  const auto h = io::read_safetensors_header(p);
  REQUIRE(h.tensors.size() == 2);
  CHECK(h.tensors.at("b").shape == std::vector<int64_t>{1, 1});
  CHECK(h.tensors.at("b").begin == 8);
  CHECK(h.data_offset == full.size() - 12);
  CHECK(h.metadata.at("format") == "pt");
  io::write_file_atomic(p, std::span<const std::byte>(full.data(), full.size() - 1));
  CHECK_THROWS_WITH(io::read_safetensors_header(p), Catch::Contains(p.string()) && Catch::Contains("'b'"));
  CHECK_THROWS_WITH(io::read_safetensors_header(dir.path), Catch::Contains("a directory"));
  CHECK_THROWS_WITH(io::read_safetensors(dir.path), Catch::Contains("a directory"));
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
