#pragma once
// What prepare/datasets need from a tokenizer (the TokenizerLike concept), and `Tokenizer`, a closed runtime choice
// between the implementations (std::variant, no virtuals) for apps whose config names the tokenizer by string.
// The SentencePiece alternative exists only when the build links sinklab::sentencepiece.
#include <concepts>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "sinklab/core/error.hpp"
#include "sinklab/data/byte_tokenizer.hpp"
#if defined(SINKLAB_HAVE_SENTENCEPIECE)
#include "sinklab/data/sentencepiece_tokenizer.hpp"
#endif

namespace sinklab::data {

template <class T>
concept TokenizerLike = requires(const T& t, std::string_view text, std::span<const int32_t> ids) {
  { t.encode(text) } -> std::same_as<std::vector<int32_t>>;
  { t.decode(ids) } -> std::same_as<std::string>;
  { t.vocab_size() } -> std::convertible_to<int32_t>;
  { t.bos_id() } -> std::same_as<std::optional<int32_t>>;
  { t.eos_id() } -> std::same_as<std::optional<int32_t>>;
  { t.identity() } -> std::same_as<std::string>;
};

static_assert(TokenizerLike<ByteTokenizer>);
#if defined(SINKLAB_HAVE_SENTENCEPIECE)
static_assert(TokenizerLike<SentencePieceTokenizer>);
#endif

class Tokenizer {
 public:
#if defined(SINKLAB_HAVE_SENTENCEPIECE)
  using Impl = std::variant<ByteTokenizer, SentencePieceTokenizer>;
#else
  using Impl = std::variant<ByteTokenizer>;
#endif

  template <class T>
  requires(!std::same_as<std::remove_cvref_t<T>, Tokenizer> && TokenizerLike<T>) Tokenizer(T impl)
      : impl_(std::move(impl)) {}

  // "byte", "byte+eos" (BOS 256 / EOS 257), or "sentencepiece:<path to .model>".
  static Tokenizer from_spec(const std::string& spec) {
    if (spec == "byte") return Tokenizer(ByteTokenizer{false});
    if (spec == "byte+eos") return Tokenizer(ByteTokenizer{true});
    constexpr std::string_view sp = "sentencepiece:";
    if (spec.rfind(sp, 0) == 0) {
#if defined(SINKLAB_HAVE_SENTENCEPIECE)
      return Tokenizer(SentencePieceTokenizer::load(spec.substr(sp.size())));
#else
      SINKLAB_FAIL("tokenizer '", spec, "': this build has no SentencePiece (link sinklab::sentencepiece)");
#endif
    }
    SINKLAB_FAIL("unknown tokenizer '", spec, "'; expected 'byte', 'byte+eos' or 'sentencepiece:<model path>'");
  }

  std::vector<int32_t> encode(std::string_view text) const {
    return std::visit([&](const auto& t) { return t.encode(text); }, impl_);
  }
  std::string decode(std::span<const int32_t> ids) const {
    return std::visit([&](const auto& t) { return t.decode(ids); }, impl_);
  }
  int32_t vocab_size() const {
    return std::visit([](const auto& t) { return int32_t(t.vocab_size()); }, impl_);
  }
  std::optional<int32_t> bos_id() const {
    return std::visit([](const auto& t) { return t.bos_id(); }, impl_);
  }
  std::optional<int32_t> eos_id() const {
    return std::visit([](const auto& t) { return t.eos_id(); }, impl_);
  }
  std::string identity() const {
    return std::visit([](const auto& t) { return t.identity(); }, impl_);
  }

  const Impl& impl() const { return impl_; }

 private:
  Impl impl_;
};

static_assert(TokenizerLike<Tokenizer>);

}  // namespace sinklab::data
