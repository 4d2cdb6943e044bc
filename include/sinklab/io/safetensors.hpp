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
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "sinklab/core/bf16.hpp"
#include "sinklab/core/error.hpp"
#include "sinklab/core/shape.hpp"
#include "sinklab/io/atomic_file.hpp"
#include "sinklab/io/strict_parse.hpp"

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
  if (!values.empty()) std::memcpy(e.data.data(), values.data(), values.size_bytes());  // empty: may be null
  return e;
}

inline bool is_float_dtype(const std::string& dtype) {
  return dtype == "F32" || dtype == "F64" || dtype == "BF16" || dtype == "F16";
}

// A float entry (F32, F64, BF16, F16) as float: BF16/F16 widened exactly, F64 rounded to nearest. Integer and
// boolean tensors are refused, naming `name`: weights stored as integers are not weights.
inline std::vector<float> to_float(const TensorEntry& e, std::string_view name = "") {
  const std::string what = name.empty() ? std::string("a tensor") : "tensor '" + std::string(name) + "'";
  SINKLAB_CHECK(is_float_dtype(e.dtype), what, " has dtype ", e.dtype,
                "; a float tensor (F32, F64, BF16 or F16) is expected here");
  const std::size_t n = static_cast<std::size_t>(e.numel());
  SINKLAB_CHECK(e.data.size() == n * dtype_size(e.dtype), "to_float: ", what, " holds ", e.data.size(),
                " bytes, expected ", n * dtype_size(e.dtype));
  std::vector<float> out(n);
  const auto* p = e.data.data();
  auto convert = [&]<class T>(T, auto widen) {
    for (std::size_t i = 0; i < n; ++i) {
      T v;
      std::memcpy(&v, p + i * sizeof(T), sizeof(T));
      out[i] = widen(v);
    }
  };
  if (e.dtype == "F32")
    convert(float{}, [](float v) { return v; });
  else if (e.dtype == "F64")
    convert(double{}, [](double v) { return static_cast<float>(v); });
  else if (e.dtype == "BF16")
    convert(uint16_t{}, [](uint16_t v) { return bf16::to_float(v); });
  else
    convert(uint16_t{}, [](uint16_t v) { return half_to_float(v); });
  return out;
}

inline std::vector<float> get_float(const SafeTensors& st, const std::string& name) {
  return to_float(st.at(name), name);
}

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
    if (!e.data.empty()) std::memcpy(p, e.data.data(), e.data.size());  // an empty tensor's data may be null
    p += e.data.size();
  }
  return out;
}

// One tensor as the header describes it: dtype, shape and its byte range [begin, end) in the data section.
struct TensorInfo {
  std::string dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;
};

struct SafeTensorsHeader {
  std::map<std::string, TensorInfo> tensors;
  std::map<std::string, std::string> metadata;
  uint64_t data_offset = 0;  // where the data section starts in the file: 8 + header length
};

// The reference implementation refuses longer headers too; a header this long is not a checkpoint's.
inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;
inline constexpr std::size_t kMaxSafetensorsRank = 32;  // far beyond any real tensor; keeps messages short

namespace detail {
// Element count of a shape whose bytes must fit in `limit`. Every product is overflow-checked, so no shape wraps
// around into a small number; the nonzero dimensions of an empty tensor must multiply within int64 too, so that
// later numel() and stride computations cannot overflow either.
inline uint64_t checked_numel(const std::vector<int64_t>& shape, std::size_t elem, uint64_t limit,
                              const std::string& where) {
  int64_t nonzero = 1;
  bool empty = false, overflow = false;
  for (const int64_t d : shape) {
    empty = empty || d == 0;
    if (d != 0) overflow = overflow || __builtin_mul_overflow(nonzero, d, &nonzero);
  }
  SINKLAB_CHECK(!overflow, where, ": shape ", to_string(shape), " has more than 2^63 elements");
  if (empty) return 0;
  uint64_t bytes = 0;
  SINKLAB_CHECK(
      !__builtin_mul_overflow(static_cast<uint64_t>(nonzero), static_cast<uint64_t>(elem), &bytes) && bytes <= limit,
      where, ": shape ", to_string(shape), " needs ", nonzero, " x ", elem, " bytes, more than the ", limit,
      "-byte data section");
  return static_cast<uint64_t>(nonzero);
}
}  // namespace detail

// Validates the JSON header of a safetensors file whose data section is `data_size` bytes: every entry has exactly
// dtype (a known name), shape (non-negative integers) and data_offsets (integers within the data section, spanning
// exactly shape x dtype bytes); the tensors tile the data section with no gap, overlap or trailing bytes, as the
// reference implementation requires. `what` names the file in errors, and each error names the tensor.
inline SafeTensorsHeader parse_safetensors_header(std::string_view json, uint64_t data_size, const std::string& what) {
  const std::string file = "safetensors '" + what + "'";
  const Json header = parse_json(json, file + " header");
  SINKLAB_CHECK(header.is_object(), file, ": header is ", json_type_name(header), ", not a JSON object");
  SafeTensorsHeader h;
  std::vector<std::tuple<uint64_t, uint64_t, std::string>> ranges;
  for (const auto& [name, v] : header.items()) {
    if (name == "__metadata__") {
      SINKLAB_CHECK(v.is_object(), file, ": __metadata__ must be an object of strings, got ", json_type_name(v));
      for (const auto& [k, s] : v.items()) h.metadata[k] = string_from_json(s, file + ": __metadata__['" + k + "']");
      continue;
    }
    const std::string where = file + ", tensor '" + name + "'";
    SINKLAB_CHECK(v.is_object(), where, ": entry is ", json_type_name(v), ", not an object with dtype, shape and ",
                  "data_offsets");
    for (const auto& [key, _] : v.items())
      SINKLAB_CHECK(key == "dtype" || key == "shape" || key == "data_offsets", where, ": unknown field '", key,
                    "' (expected dtype, shape and data_offsets)");
    for (const char* key : {"dtype", "shape", "data_offsets"})
      SINKLAB_CHECK(v.contains(key), where, ": missing field '", key, "'");
    TensorInfo t;
    t.dtype = string_from_json(v["dtype"], where + ": dtype");
    std::size_t elem = 0;
    try {
      elem = dtype_size(t.dtype);
    } catch (const Error&) {
      SINKLAB_FAIL(where, ": unknown dtype '", t.dtype, "'");
    }
    const Json& shape = v["shape"];
    SINKLAB_CHECK(shape.is_array(), where, ": shape is ", json_type_name(shape), ", not an array");
    SINKLAB_CHECK(shape.size() <= kMaxSafetensorsRank, where, ": shape has ", shape.size(), " dimensions (at most ",
                  kMaxSafetensorsRank, ")");
    for (std::size_t i = 0; i < shape.size(); ++i)
      t.shape.push_back(int_from_json(shape[i], where + ": shape[" + std::to_string(i) + "]", 0));
    const uint64_t numel = detail::checked_numel(t.shape, elem, data_size, where);
    const Json& off = v["data_offsets"];
    SINKLAB_CHECK(off.is_array() && off.size() == 2, where, ": data_offsets must be [begin, end], got ",
                  json_excerpt(off));
    const auto limit = static_cast<int64_t>(std::min<uint64_t>(data_size, std::numeric_limits<int64_t>::max()));
    t.begin = static_cast<uint64_t>(int_from_json(off[0], where + ": data_offsets[0]", 0, limit));
    t.end = static_cast<uint64_t>(int_from_json(off[1], where + ": data_offsets[1]", 0, limit));
    SINKLAB_CHECK(t.begin <= t.end, where, ": data_offsets [", t.begin, ", ", t.end, "] end before they begin");
    SINKLAB_CHECK(t.end - t.begin == numel * elem, where, ": shape ", to_string(t.shape), " x dtype ", t.dtype,
                  " needs ", numel * elem, " bytes but data_offsets [", t.begin, ", ", t.end, "] span ",
                  t.end - t.begin);
    ranges.emplace_back(t.begin, t.end, name);
    h.tensors.emplace(name, std::move(t));
  }
  std::sort(ranges.begin(), ranges.end());
  uint64_t covered = 0;
  std::string previous;
  for (const auto& [begin, end, name] : ranges) {
    SINKLAB_CHECK(begin >= covered, file, ": tensors '", previous, "' and '", name, "' overlap (bytes ", begin, " to ",
                  covered, ")");
    SINKLAB_CHECK(begin == covered, file, ": bytes ", covered, " to ", begin, " of the data section belong to no ",
                  "tensor (gap before '", name, "')");
    covered = end;
    previous = name;
  }
  SINKLAB_CHECK(covered == data_size, file, ": the data section is ", data_size, " bytes but the tensors end at ",
                covered, "; ", data_size - covered, " trailing bytes belong to no tensor");
  return h;
}

namespace detail {
// The header length from the first 8 bytes, checked against the file size; returns the data section's size.
inline uint64_t header_length(const std::byte* first8, uint64_t file_size, const std::string& what) {
  SINKLAB_CHECK(file_size >= 8, "safetensors '", what, "': truncated, file is ", file_size,
                " bytes, shorter than the 8-byte header length");
  uint64_t n;
  std::memcpy(&n, first8, 8);
  SINKLAB_CHECK(n <= file_size - 8, "safetensors '", what, "': header length ", n, " goes beyond the file (", file_size,
                " bytes); truncated or not a safetensors file");
  SINKLAB_CHECK(n <= kMaxSafetensorsHeaderBytes, "safetensors '", what, "': header length ", n, " exceeds the ",
                kMaxSafetensorsHeaderBytes, "-byte limit");
  return n;
}
}  // namespace detail

// Parses bytes of a safetensors file; `what` names the source in errors.
inline SafeTensors parse_safetensors(std::span<const std::byte> bytes, const std::string& what) {
  const uint64_t n = detail::header_length(bytes.data(), bytes.size(), what);
  const std::string_view json(reinterpret_cast<const char*>(bytes.data()) + 8, n);
  const auto data = bytes.subspan(8 + n);
  SafeTensorsHeader h = parse_safetensors_header(json, data.size(), what);
  SafeTensors st;
  st.metadata = std::move(h.metadata);
  for (auto& [name, t] : h.tensors) {
    TensorEntry e{std::move(t.dtype), std::move(t.shape), {}};
    e.data.assign(data.begin() + static_cast<std::ptrdiff_t>(t.begin),
                  data.begin() + static_cast<std::ptrdiff_t>(t.end));
    st.tensors.emplace(name, std::move(e));
  }
  return st;
}

inline SafeTensors read_safetensors(const std::filesystem::path& path) {
  return parse_safetensors(read_file(path), path.string());
}

// The header alone (names, dtypes, shapes, offsets), reading only its bytes: what a loader checks a model's sizes
// against before allocating anything.
inline SafeTensorsHeader read_safetensors_header(const std::filesystem::path& path) {
  RegularFile f(path);
  std::byte first8[8] = {};
  if (f.size() >= 8) f.read(first8, 8);
  const uint64_t n = detail::header_length(first8, f.size(), path.string());
  std::string json(n, '\0');
  f.read(json.data(), n);
  SafeTensorsHeader h = parse_safetensors_header(json, f.size() - 8 - n, path.string());
  h.data_offset = 8 + n;
  return h;
}

// Atomic: a failed write leaves any existing file at `path` untouched.
inline void write_safetensors(const std::filesystem::path& path, const SafeTensors& st) {
  write_file_atomic(path, std::span<const std::byte>(serialize_safetensors(st)));
}

}  // namespace sinklab::io
