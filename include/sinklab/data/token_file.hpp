#pragma once
// Packed token files, read into memory as int32 token ids.
//  - llm.c: 256 x int32 header {magic, version, num_tokens, 0...}, then the tokens. (20240520, 1) = uint16 tokens
//    (GPT-2); (20240801, 7) = uint32 tokens (llm.c's Llama-3 files); we also accept (20240520, 2) = uint32.
//    We write (20240520, 1) when every id fits in 16 bits, else llm.c's (20240801, 7), so llm.c reads both.
//  - LITPKDS (litgpt packed dataset, the sink paper's data): 24-byte LE header "LITPKDS" | u64 version = 1 |
//    u8 dtype code | u64 chunk size in tokens, then chunk_size tokens. litgpt dtype codes: 1 u8, 2 i8, 3 i16, 4 i32,
//    5 i64, 6 f32, 7 f64, 8 u16.
//  - nanoGPT raw: headerless uint16 (must be asked for explicitly: nothing in the file identifies it).
#include <bit>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "sinklab/core/error.hpp"
#include "sinklab/io/atomic_file.hpp"

namespace sinklab::data {

static_assert(std::endian::native == std::endian::little,
              "token files are little-endian; big-endian hosts unsupported");

enum class TokenFormat { Auto, LlmC, Litpkds, RawU16 };

inline constexpr int32_t kLlmcMagic = 20240520, kLlmcMagicU32 = 20240801;
inline constexpr int kLlmcHeaderInts = 256;
inline constexpr char kLitpkdsMagic[7] = {'L', 'I', 'T', 'P', 'K', 'D', 'S'};

struct TokenFile {
  std::vector<int32_t> tokens;
  TokenFormat format = TokenFormat::Auto;
  int64_t version = 0;      // llm.c version or LITPKDS version
  int bytes_per_token = 0;  // as stored
  uint64_t chunk_size = 0;  // LITPKDS only
};

namespace detail {
template <class T>
void widen_tokens(const std::byte* p, std::size_t n, std::vector<int32_t>& out, const std::string& file) {
  out.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, p + i * sizeof(T), sizeof(T));
    if constexpr (std::is_floating_point_v<T>) {
      SINKLAB_CHECK(v >= 0 && v <= std::numeric_limits<int32_t>::max() && static_cast<T>(static_cast<int32_t>(v)) == v,
                    "token file '", file, "': token ", i, " = ", v, " is not a token id");
    } else {
      if constexpr (std::is_signed_v<T>)
        SINKLAB_CHECK(v >= 0, "token file '", file, "': token ", i, " = ", +v, " is negative");
      if constexpr (sizeof(T) >= 4)
        SINKLAB_CHECK(static_cast<uint64_t>(v) <= static_cast<uint64_t>(std::numeric_limits<int32_t>::max()),
                      "token file '", file, "': token ", i, " = ", +v, " does not fit an int32 token id");
    }
    out[i] = static_cast<int32_t>(v);
  }
}

inline void widen_by_size(const std::byte* p, std::size_t n, int bytes, bool is_unsigned, std::vector<int32_t>& out,
                          const std::string& file) {
  if (bytes == 2)
    is_unsigned ? widen_tokens<uint16_t>(p, n, out, file) : widen_tokens<int16_t>(p, n, out, file);
  else if (bytes == 4)
    is_unsigned ? widen_tokens<uint32_t>(p, n, out, file) : widen_tokens<int32_t>(p, n, out, file);
  else
    SINKLAB_FAIL("internal: unsupported token width ", bytes);
}

inline TokenFile read_llmc(std::span<const std::byte> b, const std::string& file) {
  constexpr std::size_t hb = kLlmcHeaderInts * 4;
  SINKLAB_CHECK(b.size() >= hb, "llm.c token file '", file, "': header: file is ", b.size(),
                " bytes, the header alone is ", hb);
  int32_t h[3];
  std::memcpy(h, b.data(), sizeof h);
  TokenFile tf;
  tf.format = TokenFormat::LlmC;
  tf.version = h[1];
  if (h[0] == kLlmcMagic && h[1] == 1)
    tf.bytes_per_token = 2;
  else if ((h[0] == kLlmcMagic && h[1] == 2) || (h[0] == kLlmcMagicU32 && h[1] == 7))
    tf.bytes_per_token = 4;
  else
    SINKLAB_FAIL("llm.c token file '", file, "': magic/version: got (", h[0], ", ", h[1], "), expected (", kLlmcMagic,
                 ", 1|2) or (", kLlmcMagicU32, ", 7)");
  SINKLAB_CHECK(h[2] >= 0, "llm.c token file '", file, "': num_tokens: negative (", h[2], ")");
  const auto n = static_cast<std::size_t>(h[2]);
  SINKLAB_CHECK(b.size() == hb + n * tf.bytes_per_token, "llm.c token file '", file, "': num_tokens: header says ", n,
                " tokens (", hb + n * tf.bytes_per_token, " bytes) but the file is ", b.size(), " bytes");
  widen_by_size(b.data() + hb, n, tf.bytes_per_token, true, tf.tokens, file);
  return tf;
}

inline TokenFile read_litpkds(std::span<const std::byte> b, const std::string& file) {
  SINKLAB_CHECK(b.size() >= 24, "LITPKDS file '", file, "': header: file is ", b.size(), " bytes, header is 24");
  SINKLAB_CHECK(std::memcmp(b.data(), kLitpkdsMagic, 7) == 0, "LITPKDS file '", file, "': magic: not \"LITPKDS\"");
  TokenFile tf;
  tf.format = TokenFormat::Litpkds;
  uint64_t version, chunk;
  std::memcpy(&version, b.data() + 7, 8);
  const auto code = static_cast<uint8_t>(b[15]);
  std::memcpy(&chunk, b.data() + 16, 8);
  SINKLAB_CHECK(version == 1, "LITPKDS file '", file, "': version: ", version, " (only 1 is known)");
  tf.version = 1;
  tf.chunk_size = chunk;
  static constexpr int sizes[9] = {0, 1, 1, 2, 4, 8, 4, 8, 2};
  SINKLAB_CHECK(code >= 1 && code <= 8, "LITPKDS file '", file, "': dtype code: ", +code,
                " (litgpt codes: 1 u8, 2 i8, 3 i16, 4 i32, 5 i64, 6 f32, 7 f64, 8 u16)");
  tf.bytes_per_token = sizes[code];
  const std::size_t have = (b.size() - 24) / tf.bytes_per_token;
  SINKLAB_CHECK((b.size() - 24) % tf.bytes_per_token == 0, "LITPKDS file '", file, "': size: ", b.size() - 24,
                " data bytes is not a multiple of the ", tf.bytes_per_token, "-byte dtype");
  SINKLAB_CHECK(chunk <= have, "LITPKDS file '", file, "': chunk size: header says ", chunk,
                " tokens but the file holds ", have);
  const std::byte* p = b.data() + 24;
  const auto n = static_cast<std::size_t>(chunk);  // litgpt reads exactly chunk_size tokens
  switch (code) {
    case 1:
      detail::widen_tokens<uint8_t>(p, n, tf.tokens, file);
      break;
    case 2:
      detail::widen_tokens<int8_t>(p, n, tf.tokens, file);
      break;
    case 3:
      detail::widen_tokens<int16_t>(p, n, tf.tokens, file);
      break;
    case 4:
      detail::widen_tokens<int32_t>(p, n, tf.tokens, file);
      break;
    case 5:
      detail::widen_tokens<int64_t>(p, n, tf.tokens, file);
      break;
    case 6:
      detail::widen_tokens<float>(p, n, tf.tokens, file);
      break;
    case 7:
      detail::widen_tokens<double>(p, n, tf.tokens, file);
      break;
    case 8:
      detail::widen_tokens<uint16_t>(p, n, tf.tokens, file);
      break;
  }
  return tf;
}
}  // namespace detail

// Auto detects llm.c and LITPKDS by their magic; headerless nanoGPT files need TokenFormat::RawU16.
inline TokenFile read_token_file(const std::filesystem::path& path, TokenFormat format = TokenFormat::Auto) {
  const auto bytes = io::read_file(path);
  const std::string file = path.string();
  if (format == TokenFormat::Auto) {
    int32_t magic = 0;
    if (bytes.size() >= 4) std::memcpy(&magic, bytes.data(), 4);
    if (bytes.size() >= 7 && std::memcmp(bytes.data(), kLitpkdsMagic, 7) == 0)
      format = TokenFormat::Litpkds;
    else if (magic == kLlmcMagic || magic == kLlmcMagicU32)
      format = TokenFormat::LlmC;
    else
      SINKLAB_FAIL("token file '", file, "': magic: neither llm.c nor LITPKDS; for a headerless nanoGPT uint16 ",
                   "file pass TokenFormat::RawU16");
  }
  switch (format) {
    case TokenFormat::LlmC:
      return detail::read_llmc(bytes, file);
    case TokenFormat::Litpkds:
      return detail::read_litpkds(bytes, file);
    case TokenFormat::RawU16: {
      SINKLAB_CHECK(bytes.size() % 2 == 0, "raw uint16 token file '", file, "': size: ", bytes.size(), " bytes is odd");
      TokenFile tf;
      tf.format = TokenFormat::RawU16;
      tf.bytes_per_token = 2;
      detail::widen_tokens<uint16_t>(bytes.data(), bytes.size() / 2, tf.tokens, file);
      return tf;
    }
    default:
      SINKLAB_FAIL("unreachable");
  }
}

// Concatenation of several files (e.g. a directory of LITPKDS chunks), in the given order.
inline std::vector<int32_t> read_token_files(std::span<const std::filesystem::path> paths,
                                             TokenFormat format = TokenFormat::Auto) {
  std::vector<int32_t> all;
  for (const auto& p : paths) {
    const auto tf = read_token_file(p, format);
    all.insert(all.end(), tf.tokens.begin(), tf.tokens.end());
  }
  return all;
}

// Writes an llm.c token file atomically (uint16 when every id < 65536, else uint32; see top of file).
inline void write_llmc_tokens(const std::filesystem::path& path, std::span<const int32_t> tokens) {
  SINKLAB_CHECK(tokens.size() <= static_cast<std::size_t>(std::numeric_limits<int32_t>::max()), "write_llmc_tokens '",
                path.string(), "': ", tokens.size(), " tokens exceed the int32 count field");
  bool u16 = true;
  for (const int32_t t : tokens) {
    SINKLAB_CHECK(t >= 0, "write_llmc_tokens '", path.string(), "': negative token id ", t);
    u16 = u16 && t < 65536;
  }
  int32_t header[kLlmcHeaderInts] = {};
  header[0] = u16 ? kLlmcMagic : kLlmcMagicU32;
  header[1] = u16 ? 1 : 7;
  header[2] = static_cast<int32_t>(tokens.size());
  io::write_file_atomic(path, [&](std::ostream& os) {
    os.write(reinterpret_cast<const char*>(header), sizeof header);
    if (u16) {
      std::vector<uint16_t> t(tokens.begin(), tokens.end());
      os.write(reinterpret_cast<const char*>(t.data()), static_cast<std::streamsize>(t.size() * 2));
    } else {
      os.write(reinterpret_cast<const char*>(tokens.data()), static_cast<std::streamsize>(tokens.size_bytes()));
    }
  });
}

// Writes one LITPKDS chunk (uint16, code 8), chunk size = tokens.size().
inline void write_litpkds_u16(const std::filesystem::path& path, std::span<const int32_t> tokens) {
  std::vector<uint16_t> t(tokens.size());
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    SINKLAB_CHECK(tokens[i] >= 0 && tokens[i] < 65536, "write_litpkds_u16 '", path.string(), "': token ", tokens[i],
                  " does not fit uint16");
    t[i] = static_cast<uint16_t>(tokens[i]);
  }
  char header[24];
  const uint64_t version = 1, chunk = tokens.size();
  std::memcpy(header, kLitpkdsMagic, 7);
  std::memcpy(header + 7, &version, 8);
  header[15] = 8;
  std::memcpy(header + 16, &chunk, 8);
  io::write_file_atomic(path, [&](std::ostream& os) {
    os.write(header, 24);
    os.write(reinterpret_cast<const char*>(t.data()), static_cast<std::streamsize>(t.size() * 2));
  });
}

}  // namespace sinklab::data
