#pragma once
// safetensors read/write (https://github.com/huggingface/safetensors): u64 LE header length N, N bytes of JSON
// ({"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [begin, end]}}), then the raw LE data.
// Like the Rust writer we pad the header with spaces to a multiple of 8 so every tensor's data is 8-byte aligned,
// lay tensors out in name order, and omit "__metadata__" when it is empty. Reading validates everything a
// truncated or hand-edited file can get wrong, and every error names the file (and the tensor when there is one).
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "sinklab/core/bf16.hpp"
#include "sinklab/core/error.hpp"
#include "sinklab/io/atomic_file.hpp"

namespace sinklab::io {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; big-endian hosts unsupported");

// Bytes per element of a safetensors dtype string; throws on unknown dtypes.
inline std::size_t dtype_size(const std::string& dtype) {
  static const std::map<std::string, std::size_t> sizes = {
      {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"F8_E4M3", 1}, {"F8_E5M2", 1}, {"I64", 8}, {"I32", 4},
      {"I16", 2}, {"I8", 1},  {"U64", 8}, {"U32", 4},  {"U16", 2},     {"U8", 1},      {"BOOL", 1}};
  const auto it = sizes.find(dtype);
  SINKLAB_CHECK(it != sizes.end(), "unknown safetensors dtype '", dtype, "'");
  return it->second;
}

// IEEE binary16 <-> float, round to nearest even; NaN stays NaN, overflow goes to infinity.
inline float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    const float v = std::ldexp(static_cast<float>(mant), -24);  // zero or subnormal
    return sign ? -v : v;
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 112u) << 23) | (mant << 13);
  }
  return std::bit_cast<float>(bits);
}

inline uint16_t float_to_half(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  const auto sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t ax = x & 0x7fffffffu;
  if (ax >= 0x7f800000u) return sign | (ax > 0x7f800000u ? 0x7e00u : 0x7c00u);
  if (ax >= 0x477ff000u) return sign | 0x7c00u;  // >= 65520 rounds to infinity
  if (ax < 0x38800000u) {                        // below 2^-14: half subnormal; a * 2^24 is exact in float
    return sign | static_cast<uint16_t>(std::nearbyint(std::bit_cast<float>(ax) * 16777216.0f));
  }
  const uint32_t rounded = ax + 0xfffu + ((ax >> 13) & 1u);
  return sign | static_cast<uint16_t>((rounded - 0x38000000u) >> 13);
}

struct TensorEntry {
  std::string dtype;
  std::vector<int64_t> shape;
  std::vector<std::byte> data;  // little-endian, row-major

  int64_t numel() const {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
};

struct SafeTensors {
  std::map<std::string, TensorEntry> tensors;  // ordered by name = order on disk
  std::map<std::string, std::string> metadata;

  const TensorEntry& at(const std::string& name) const {
    const auto it = tensors.find(name);
    SINKLAB_CHECK(it != tensors.end(), "no tensor '", name, "' (", tensors.size(), " tensors)");
    return it->second;
  }
};

// Builds an entry from typed values; dtype picks the storage ("F32", "BF16", "F16", "F64" for floats).
inline TensorEntry make_float_entry(std::span<const float> values, std::vector<int64_t> shape,
                                    const std::string& dtype = "F32") {
  TensorEntry e{dtype, std::move(shape), {}};
  SINKLAB_CHECK(e.numel() == static_cast<int64_t>(values.size()), "make_float_entry: shape has ", e.numel(),
                " elements but ", values.size(), " values were given");
  e.data.resize(values.size() * dtype_size(dtype));
  auto* out = e.data.data();
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (dtype == "F32") {
      std::memcpy(out + 4 * i, &values[i], 4);
    } else if (dtype == "F64") {
      const double d = values[i];
      std::memcpy(out + 8 * i, &d, 8);
    } else if (dtype == "BF16") {
      const uint16_t b = bf16::from_float(values[i]);
      std::memcpy(out + 2 * i, &b, 2);
    } else if (dtype == "F16") {
      const uint16_t h = float_to_half(values[i]);
      std::memcpy(out + 2 * i, &h, 2);
    } else {
      SINKLAB_FAIL("make_float_entry: dtype '", dtype, "' is not a float dtype (F32, F64, BF16, F16)");
    }
  }
  return e;
}

// Raw typed entry (dtype must match T's size; e.g. make_entry<int32_t>(v, shape, "I32")).
template <class T>
TensorEntry make_entry(std::span<const T> values, std::vector<int64_t> shape, const std::string& dtype) {
  TensorEntry e{dtype, std::move(shape), {}};
  SINKLAB_CHECK(dtype_size(dtype) == sizeof(T), "make_entry: dtype '", dtype, "' is ", dtype_size(dtype),
                " bytes but the element type is ", sizeof(T));
  SINKLAB_CHECK(e.numel() == static_cast<int64_t>(values.size()), "make_entry: shape has ", e.numel(), " elements but ",
                values.size(), " values were given");
  e.data.resize(values.size_bytes());
  std::memcpy(e.data.data(), values.data(), values.size_bytes());
  return e;
}

// Any numeric entry as float (BF16/F16 widened exactly; F64 and integers rounded to nearest float).
inline std::vector<float> to_float(const TensorEntry& e) {
  const std::size_t n = static_cast<std::size_t>(e.numel());
  SINKLAB_CHECK(e.data.size() == n * dtype_size(e.dtype), "to_float: entry holds ", e.data.size(), " bytes, expected ",
                n * dtype_size(e.dtype));
  std::vector<float> out(n);
  const auto* p = e.data.data();
  auto load = [&]<class T>(std::size_t i, T) {
    T v;
    std::memcpy(&v, p + i * sizeof(T), sizeof(T));
    return v;
  };
  for (std::size_t i = 0; i < n; ++i) {
    const auto& d = e.dtype;
    if (d == "F32")
      out[i] = load(i, float{});
    else if (d == "F64")
      out[i] = static_cast<float>(load(i, double{}));
    else if (d == "BF16")
      out[i] = bf16::to_float(load(i, uint16_t{}));
    else if (d == "F16")
      out[i] = half_to_float(load(i, uint16_t{}));
    else if (d == "I64")
      out[i] = static_cast<float>(load(i, int64_t{}));
    else if (d == "I32")
      out[i] = static_cast<float>(load(i, int32_t{}));
    else if (d == "I16")
      out[i] = static_cast<float>(load(i, int16_t{}));
    else if (d == "I8")
      out[i] = static_cast<float>(load(i, int8_t{}));
    else if (d == "U64")
      out[i] = static_cast<float>(load(i, uint64_t{}));
    else if (d == "U32")
      out[i] = static_cast<float>(load(i, uint32_t{}));
    else if (d == "U16")
      out[i] = static_cast<float>(load(i, uint16_t{}));
    else if (d == "U8" || d == "BOOL")
      out[i] = static_cast<float>(load(i, uint8_t{}));
    else
      SINKLAB_FAIL("to_float: cannot convert dtype '", d, "'");
  }
  return out;
}

inline std::vector<float> get_float(const SafeTensors& st, const std::string& name) { return to_float(st.at(name)); }

// The exact bytes of a safetensors file (header JSON is compact, like serde_json).
inline std::vector<std::byte> serialize_safetensors(const SafeTensors& st) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!st.metadata.empty()) header["__metadata__"] = st.metadata;
  uint64_t offset = 0;
  for (const auto& [name, e] : st.tensors) {
    SINKLAB_CHECK(name != "__metadata__", "tensor name '__metadata__' is reserved");
    for (auto d : e.shape) SINKLAB_CHECK(d >= 0, "tensor '", name, "' has a negative dimension");
    const uint64_t bytes = static_cast<uint64_t>(e.numel()) * dtype_size(e.dtype);
    SINKLAB_CHECK(bytes == e.data.size(), "tensor '", name, "': shape x dtype ", e.dtype, " needs ", bytes,
                  " bytes but it holds ", e.data.size());
    header[name] = {{"dtype", e.dtype}, {"shape", e.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string h = header.dump();
  h.append((8 - (8 + h.size()) % 8) % 8, ' ');  // data starts 8-byte aligned
  std::vector<std::byte> out(8 + h.size() + offset);
  const uint64_t n = h.size();
  std::memcpy(out.data(), &n, 8);
  std::memcpy(out.data() + 8, h.data(), h.size());
  auto* p = out.data() + 8 + h.size();
  for (const auto& [name, e] : st.tensors) {
    std::memcpy(p, e.data.data(), e.data.size());
    p += e.data.size();
  }
  return out;
}

// Parses bytes of a safetensors file; `what` names the source in errors.
inline SafeTensors parse_safetensors(std::span<const std::byte> bytes, const std::string& what) {
  SINKLAB_CHECK(bytes.size() >= 8, "safetensors '", what, "': truncated, file is ", bytes.size(),
                " bytes, shorter than the 8-byte header length");
  uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  SINKLAB_CHECK(n <= bytes.size() - 8, "safetensors '", what, "': header length ", n, " goes beyond the file (",
                bytes.size(), " bytes); truncated or not a safetensors file");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(reinterpret_cast<const char*>(bytes.data()) + 8,
                                   reinterpret_cast<const char*>(bytes.data()) + 8 + n);
  } catch (const nlohmann::json::exception& ex) {
    SINKLAB_FAIL("safetensors '", what, "': bad JSON header: ", ex.what());
  }
  SINKLAB_CHECK(header.is_object(), "safetensors '", what, "': header is not a JSON object");
  const auto data = bytes.subspan(8 + n);
  SafeTensors st;
  std::vector<std::pair<std::pair<uint64_t, uint64_t>, std::string>> ranges;
  for (const auto& [name, v] : header.items()) {
    if (name == "__metadata__") {
      SINKLAB_CHECK(v.is_object(), "safetensors '", what, "': __metadata__ must be an object of strings");
      for (const auto& [k, s] : v.items()) {
        SINKLAB_CHECK(s.is_string(), "safetensors '", what, "': __metadata__['", k, "'] is not a string");
        st.metadata[k] = s.get<std::string>();
      }
      continue;
    }
    const std::string where = "safetensors '" + what + "', tensor '" + name + "'";
    SINKLAB_CHECK(v.is_object() && v.contains("dtype") && v.contains("shape") && v.contains("data_offsets"), where,
                  ": entry needs dtype, shape and data_offsets");
    SINKLAB_CHECK(v["dtype"].is_string(), where, ": dtype is not a string");
    TensorEntry e;
    e.dtype = v["dtype"].get<std::string>();
    std::size_t elem;
    try {
      elem = dtype_size(e.dtype);
    } catch (const Error&) {
      SINKLAB_FAIL(where, ": unknown dtype '", e.dtype, "'");
    }
    SINKLAB_CHECK(v["shape"].is_array(), where, ": shape is not an array");
    for (const auto& d : v["shape"]) {
      SINKLAB_CHECK(d.is_number_integer() && d.get<int64_t>() >= 0, where, ": bad dimension ", d.dump());
      e.shape.push_back(d.get<int64_t>());
    }
    const auto& off = v["data_offsets"];
    SINKLAB_CHECK(off.is_array() && off.size() == 2 && off[0].is_number_unsigned() && off[1].is_number_unsigned(),
                  where, ": data_offsets must be [begin, end] with non-negative integers");
    const auto b = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
    SINKLAB_CHECK(b <= end && end <= data.size(), where, ": data_offsets [", b, ", ", end,
                  "] out of range (data section is ", data.size(), " bytes; file truncated?)");
    const uint64_t want = static_cast<uint64_t>(e.numel()) * elem;
    SINKLAB_CHECK(end - b == want, where, ": shape x dtype ", e.dtype, " needs ", want, " bytes but data_offsets span ",
                  end - b);
    e.data.assign(data.begin() + static_cast<std::ptrdiff_t>(b), data.begin() + static_cast<std::ptrdiff_t>(end));
    ranges.push_back({{b, end}, name});
    st.tensors.emplace(name, std::move(e));
  }
  std::sort(ranges.begin(), ranges.end());
  for (std::size_t i = 1; i < ranges.size(); ++i) {
    SINKLAB_CHECK(ranges[i].first.first >= ranges[i - 1].first.second, "safetensors '", what, "': tensors '",
                  ranges[i - 1].second, "' and '", ranges[i].second, "' overlap");
  }
  return st;
}

inline SafeTensors read_safetensors(const std::filesystem::path& path) {
  return parse_safetensors(read_file(path), path.string());
}

// Atomic: a failed write leaves any existing file at `path` untouched.
inline void write_safetensors(const std::filesystem::path& path, const SafeTensors& st) {
  write_file_atomic(path, std::span<const std::byte>(serialize_safetensors(st)));
}

}  // namespace sinklab::io
