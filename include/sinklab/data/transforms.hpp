#pragma once
// Data transforms from "When Attention Sink Emerges in Language Models" (Gu et al., ICLR 2025, §4 "data
// distribution"): random tokens at positions [a, b), a fixed token at position p, and prefix-LM loss masking.
// Token replacements act on the underlying block, so both views stay consistent: input[i] = x and, when i >= 1,
// target[i - 1] = x (the model is asked to predict what it will actually see). Random tokens are drawn from a
// generator keyed by (seed, sample_id), so a sample gets the same tokens whatever the batch, order or thread.
#include <cstdint>
#include <span>

#include "sinklab/core/error.hpp"
#include "sinklab/data/dataset.hpp"

namespace sinklab::data {

// One row: replaces input positions [begin, end) with uniform ids in [0, vocab_size).
inline void random_tokens(std::span<int32_t> inputs, std::span<int32_t> targets, int64_t begin, int64_t end,
                          int32_t vocab_size, uint64_t seed, uint64_t sample_id) {
  const auto S = static_cast<int64_t>(inputs.size());
  SINKLAB_CHECK(0 <= begin && begin <= end && end <= S, "random_tokens: range [", begin, ", ", end,
                ") outside sequence length ", S);
  SINKLAB_CHECK(vocab_size > 0, "random_tokens: vocab_size must be positive");
  auto rng = seeded_stream(seed, sample_id);
  for (int64_t i = begin; i < end; ++i) {
    const auto x = static_cast<int32_t>(rng.below(static_cast<uint64_t>(vocab_size)));
    inputs[i] = x;
    if (i >= 1) targets[i - 1] = x;
  }
}

// One row: input position p becomes `token` (the paper fixes the first token, p = 0).
inline void fixed_token(std::span<int32_t> inputs, std::span<int32_t> targets, int64_t position, int32_t token) {
  SINKLAB_CHECK(0 <= position && position < static_cast<int64_t>(inputs.size()), "fixed_token: position ", position,
                " outside sequence length ", inputs.size());
  inputs[position] = token;
  if (position >= 1) targets[position - 1] = token;
}

// One row: no loss on the first `prefix` targets (prefix-LM: the prefix is context only).
inline void prefix_lm_mask(std::span<int32_t> targets, int64_t prefix, int32_t ignore_index = kIgnoreIndex) {
  SINKLAB_CHECK(0 <= prefix && prefix <= static_cast<int64_t>(targets.size()), "prefix_lm_mask: prefix ", prefix,
                " outside sequence length ", targets.size());
  for (int64_t i = 0; i < prefix; ++i) targets[i] = ignore_index;
}

// Batch-level forms, configured once and applied to every batch.
struct RandomTokens {
  int64_t begin = 0, end = 1;
  int32_t vocab_size = 0;
  uint64_t seed = 0;
  void operator()(Batch& b) const {
    for (int64_t r = 0; r < b.batch_size; ++r)
      random_tokens(b.input_row(r), b.target_row(r), begin, end, vocab_size, seed,
                    static_cast<uint64_t>(b.sample_ids.at(static_cast<std::size_t>(r))));
  }
};

struct FixedToken {
  int64_t position = 0;
  int32_t token = 0;
  void operator()(Batch& b) const {
    for (int64_t r = 0; r < b.batch_size; ++r) fixed_token(b.input_row(r), b.target_row(r), position, token);
  }
};

struct PrefixLmMask {
  int64_t prefix = 0;
  int32_t ignore_index = kIgnoreIndex;
  void operator()(Batch& b) const {
    for (int64_t r = 0; r < b.batch_size; ++r) prefix_lm_mask(b.target_row(r), prefix, ignore_index);
  }
};

}  // namespace sinklab::data
