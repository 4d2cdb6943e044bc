#pragma once
// Bytes as tokens: exact for any input (UTF-8 or not), no training, no files. With specials on, BOS = 256 and
// EOS = 257 (vocab 258); EOS is what prepare_corpus puts between documents.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sinklab/core/error.hpp"

namespace sinklab::data {

struct ByteTokenizer {
  bool specials = false;

  static constexpr int32_t kBos = 256, kEos = 257;

  int32_t vocab_size() const { return specials ? 258 : 256; }
  std::optional<int32_t> bos_id() const { return specials ? std::optional<int32_t>(kBos) : std::nullopt; }
  std::optional<int32_t> eos_id() const { return specials ? std::optional<int32_t>(kEos) : std::nullopt; }
  // Part of the prepare cache key: a different tokenizer must never reuse another's token file.
  std::string identity() const { return specials ? "byte+bos_eos" : "byte"; }

  std::vector<int32_t> encode(std::string_view text) const {
    std::vector<int32_t> ids(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) ids[i] = static_cast<unsigned char>(text[i]);
    return ids;
  }

  // BOS/EOS decode to nothing, so decode(encode(s)) == s; ids outside the vocabulary are an error.
  std::string decode(std::span<const int32_t> ids) const {
    std::string out;
    out.reserve(ids.size());
    for (const int32_t id : ids) {
      if (id >= 0 && id < 256)
        out.push_back(static_cast<char>(static_cast<unsigned char>(id)));
      else
        SINKLAB_CHECK(specials && (id == kBos || id == kEos), "ByteTokenizer: id ", id, " outside vocab ",
                      vocab_size());
    }
    return out;
  }
};

}  // namespace sinklab::data
