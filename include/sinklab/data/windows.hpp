#pragma once
// Where training windows start. Whether a model grows its sink on BOS, on whatever token happens to come first, or
// nowhere depends on this (Barbero et al. 2025, "Why do LLMs attend to the first token?"; Gu et al. 2025 §4), so it
// is a data switch (`data.windows`):
//   packed     consecutive blocks of the token stream; position 0 is an arbitrary token (the default, as before)
//   bos        every window is BOS + the next seq_len tokens of the stream: nothing is dropped or repeated, and
//              document separators (EOS) stay wherever they fall
//   documents  every window starts at a document's first token, after BOS; a document longer than a window goes on
//              in the next window (again after BOS); the rest of a document's last window is padding
// The result is a token vector of disjoint (seq_len + 1)-blocks for TokenDataset. Padding is stored as
// kIgnoreIndex: as a target it carries no loss, and BatchSampler feeds it to the model as token 0. Under a causal
// mask padding comes after every real token of its window, so it cannot change their outputs.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "sinklab/core/error.hpp"
#include "sinklab/data/dataset.hpp"

namespace sinklab::data {

enum class WindowLayout { packed, bos, documents };

inline WindowLayout parse_window_layout(const std::string& s) {
  if (s == "packed") return WindowLayout::packed;
  if (s == "bos") return WindowLayout::bos;
  if (s == "documents") return WindowLayout::documents;
  SINKLAB_FAIL("data.windows: unknown value '", s, "' (expected packed, bos or documents)");
}

// tokens: the packed stream (documents each followed by `eos`); returns whole blocks of seq_len + 1 tokens.
inline std::vector<int32_t> bos_windows(std::span<const int32_t> tokens, int64_t seq_len, int32_t bos) {
  SINKLAB_CHECK(seq_len >= 1, "bos_windows: seq_len must be >= 1");
  const auto S = std::size_t(seq_len);
  std::vector<int32_t> out;
  out.reserve((tokens.size() / S + 1) * (S + 1));
  for (std::size_t start = 0; start + S <= tokens.size(); start += S) {
    out.push_back(bos);
    out.insert(out.end(), tokens.begin() + std::ptrdiff_t(start), tokens.begin() + std::ptrdiff_t(start + S));
  }
  return out;
}

inline std::vector<int32_t> document_windows(std::span<const int32_t> tokens, int64_t seq_len, int32_t bos,
                                             int32_t eos) {
  SINKLAB_CHECK(seq_len >= 1, "document_windows: seq_len must be >= 1");
  const auto S = std::size_t(seq_len);
  std::vector<int32_t> out;
  std::size_t doc = 0;
  while (doc < tokens.size()) {
    std::size_t end = doc;  // one past the document's EOS (or the end of the stream)
    while (end < tokens.size() && tokens[end] != eos) ++end;
    end = std::min(end + 1, tokens.size());
    for (std::size_t start = doc; start < end; start += S) {
      const std::size_t n = std::min(S, end - start);
      out.push_back(bos);
      out.insert(out.end(), tokens.begin() + std::ptrdiff_t(start), tokens.begin() + std::ptrdiff_t(start + n));
      out.insert(out.end(), S - n, kIgnoreIndex);
    }
    doc = end;
  }
  return out;
}

}  // namespace sinklab::data
