#pragma once
// Token datasets cut into fixed blocks of seq_len + 1 tokens (input = block[0:S], target = block[1:S+1]), and a
// BatchSampler that visits blocks in a seeded per-epoch order. The order comes from Fisher-Yates driven by
// splitmix64 seeded with (seed, epoch), so it is identical on every platform and compiler, and the sampler's whole
// state is three integers (seed, epoch, position): saving them in a checkpoint resumes the exact sequence.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "sinklab/core/error.hpp"
#include "sinklab/data/token_file.hpp"

namespace sinklab::data {

inline constexpr int32_t kIgnoreIndex = -100;  // targets with this id carry no loss (PyTorch's convention)

// splitmix64 (Steele, Lea, Flood 2014): a counter-free 64-bit generator with exact, portable output.
struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n) by rejection (no modulo bias, still exact integer arithmetic).
  uint64_t below(uint64_t n) {
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = next();
    while (x >= limit);
    return x % n;
  }
};

// The generator for one (seed, stream) pair, e.g. (seed, epoch) or (seed, sample index).
inline SplitMix64 seeded_stream(uint64_t seed, uint64_t stream) {
  SplitMix64 a{seed};
  SplitMix64 b{a.next() ^ (stream * 0xd1b54a32d192ed03ull)};
  return SplitMix64{b.next()};
}

// A permutation of [0, n) for this epoch.
inline std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, uint64_t epoch) {
  std::vector<int64_t> order(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  auto rng = seeded_stream(seed, epoch);
  for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[rng.below(static_cast<uint64_t>(i) + 1)]);
  return order;
}

// A view over shared token storage; copies and splits share the tokens.
class TokenDataset {
 public:
  // stride = seq_len + 1 (default): disjoint blocks, as the sink paper's 2049-token blocks.
  // stride = seq_len: consecutive blocks share one token (llm.c / nanoGPT style), wasting none.
  TokenDataset(std::vector<int32_t> tokens, int64_t seq_len, int64_t stride = 0)
      : TokenDataset(std::make_shared<const std::vector<int32_t>>(std::move(tokens)), 0, 0, seq_len, stride) {}

  TokenDataset(std::shared_ptr<const std::vector<int32_t>> store, std::size_t begin, std::size_t end, int64_t seq_len,
               int64_t stride = 0)
      : store_(std::move(store)),
        begin_(begin),
        end_(end ? end : store_->size()),
        seq_len_(seq_len),
        stride_(stride ? stride : seq_len + 1) {
    SINKLAB_CHECK(seq_len_ >= 1, "TokenDataset: seq_len must be >= 1, got ", seq_len_);
    SINKLAB_CHECK(stride_ >= 1, "TokenDataset: stride must be >= 1, got ", stride_);
    SINKLAB_CHECK(begin_ <= end_ && end_ <= store_->size(), "TokenDataset: range [", begin_, ", ", end_, ") outside ",
                  store_->size(), " tokens");
  }

  std::span<const int32_t> tokens() const { return {store_->data() + begin_, end_ - begin_}; }
  int64_t seq_len() const { return seq_len_; }
  int64_t stride() const { return stride_; }
  int64_t num_blocks() const {
    const auto n = static_cast<int64_t>(end_ - begin_);
    return n < seq_len_ + 1 ? 0 : (n - seq_len_ - 1) / stride_ + 1;
  }
  // Block i: seq_len + 1 tokens.
  std::span<const int32_t> block(int64_t i) const {
    SINKLAB_CHECK(i >= 0 && i < num_blocks(), "TokenDataset: block ", i, " of ", num_blocks());
    return tokens().subspan(static_cast<std::size_t>(i * stride_), static_cast<std::size_t>(seq_len_ + 1));
  }

  // (train, validation): the last `val_fraction` of the tokens is validation (no shuffling: contiguous text stays
  // on one side, so validation never sees a block overlapping training text).
  std::pair<TokenDataset, TokenDataset> split_tail(double val_fraction) const {
    SINKLAB_CHECK(val_fraction >= 0 && val_fraction < 1, "split_tail: val_fraction must be in [0, 1), got ",
                  val_fraction);
    const auto cut = begin_ + static_cast<std::size_t>(static_cast<double>(end_ - begin_) * (1.0 - val_fraction));
    return {TokenDataset(store_, begin_, cut, seq_len_, stride_), TokenDataset(store_, cut, end_, seq_len_, stride_)};
  }

 private:
  std::shared_ptr<const std::vector<int32_t>> store_;
  std::size_t begin_, end_;
  int64_t seq_len_, stride_;
};

// (train, validation) split by file: the last `num_val_files` token files are validation (e.g. whole books held
// out), the rest training; each side's files are concatenated in order.
inline std::pair<TokenDataset, TokenDataset> split_by_files(std::span<const std::filesystem::path> token_files,
                                                            std::size_t num_val_files, int64_t seq_len,
                                                            int64_t stride = 0,
                                                            TokenFormat format = TokenFormat::Auto) {
  SINKLAB_CHECK(num_val_files < token_files.size(), "split_by_files: ", num_val_files, " validation files of ",
                token_files.size(), " leaves none for training");
  const auto cut = token_files.size() - num_val_files;
  return {TokenDataset(read_token_files(token_files.first(cut), format), seq_len, stride),
          TokenDataset(read_token_files(token_files.subspan(cut), format), seq_len, stride)};
}

// One batch, (B, S) row-major. sample_ids[b] = epoch * num_blocks + block id: a stable key for per-sample
// randomness (see transforms.hpp), distinct across epochs.
struct Batch {
  int64_t batch_size = 0, seq_len = 0, epoch = 0;
  std::vector<int32_t> inputs, targets;  // (B, S)
  std::vector<int64_t> block_ids, sample_ids;
  std::span<int32_t> input_row(int64_t b) { return {inputs.data() + b * seq_len, static_cast<std::size_t>(seq_len)}; }
  std::span<int32_t> target_row(int64_t b) { return {targets.data() + b * seq_len, static_cast<std::size_t>(seq_len)}; }
};

// Where training batches come from: blocks of a token dataset (BatchSampler) or a generator (BackcopySampler in
// bigram_backcopy.hpp). The state is what a checkpoint stores to continue the same sequence of batches exactly.
class BatchSource {
 public:
  virtual ~BatchSource() = default;
  virtual Batch next() = 0;
  // Moves past the batch next() would return without building it: a rank of a data-parallel run skips the
  // micro-batches of the other ranks, so every rank's state stays the whole run's (note [global batch], trainer.hpp).
  virtual void skip() { next(); }
  virtual nlohmann::json state_json() const = 0;
  virtual void load_state_json(const nlohmann::json& j) = 0;
};

struct SamplerState {
  uint64_t seed = 0;
  int64_t epoch = 0, position = 0;  // position: index into this epoch's order of the next block
};

// Yields full batches forever; an epoch is floor(num_blocks / B) batches (the remainder of the order is skipped,
// so every batch has B distinct blocks). shuffle = false visits blocks in order (evaluation). Padding in a block
// (kIgnoreIndex, see windows.hpp) becomes an ignored target and the input token 0.
class BatchSampler final : public BatchSource {
 public:
  BatchSampler(TokenDataset ds, int64_t batch_size, uint64_t seed, bool shuffle = true)
      : ds_(std::move(ds)), batch_size_(batch_size), shuffle_(shuffle) {
    SINKLAB_CHECK(batch_size_ >= 1, "BatchSampler: batch_size must be >= 1");
    SINKLAB_CHECK(ds_.num_blocks() >= batch_size_, "BatchSampler: dataset has ", ds_.num_blocks(), " blocks of ",
                  ds_.seq_len() + 1, " tokens, fewer than batch_size ", batch_size_);
    state_.seed = seed;
    reorder();
  }

  int64_t batches_per_epoch() const { return ds_.num_blocks() / batch_size_; }
  const TokenDataset& dataset() const { return ds_; }

  Batch next() override {
    next_epoch_if_done();
    const int64_t S = ds_.seq_len();
    Batch b;
    b.batch_size = batch_size_;
    b.seq_len = S;
    b.epoch = state_.epoch;
    b.inputs.resize(static_cast<std::size_t>(batch_size_ * S));
    b.targets.resize(b.inputs.size());
    for (int64_t r = 0; r < batch_size_; ++r) {
      const int64_t id = order_[static_cast<std::size_t>(state_.position + r)];
      const auto blk = ds_.block(id);
      std::transform(blk.begin(), blk.end() - 1, b.inputs.begin() + r * S,
                     [](int32_t t) { return t == kIgnoreIndex ? 0 : t; });
      std::copy(blk.begin() + 1, blk.end(), b.targets.begin() + r * S);
      b.block_ids.push_back(id);
      b.sample_ids.push_back(state_.epoch * ds_.num_blocks() + id);
    }
    state_.position += batch_size_;
    return b;
  }

  void skip() override {
    next_epoch_if_done();
    state_.position += batch_size_;
  }

  SamplerState state() const { return state_; }
  void restore(const SamplerState& s) {
    const bool new_epoch = s.epoch != state_.epoch || s.seed != state_.seed;
    state_ = s;
    if (new_epoch) reorder();
  }

  // The state plus what it is only valid for; from_json refuses a state saved for a different dataset layout.
  nlohmann::json state_json() const override {
    return {{"seed", state_.seed},       {"epoch", state_.epoch},    {"position", state_.position},
            {"batch_size", batch_size_}, {"seq_len", ds_.seq_len()}, {"num_blocks", ds_.num_blocks()},
            {"shuffle", shuffle_}};
  }
  void load_state_json(const nlohmann::json& j) override {
    SINKLAB_CHECK(!j.contains("kind"), "sampler state: saved by a '", j.value("kind", ""),
                  "' sampler, not a token dataset; cannot resume this run with another data.format");
    auto expect = [&](const char* key, int64_t have) {
      SINKLAB_CHECK(j.contains(key) && j[key].get<int64_t>() == have, "sampler state: '", key, "' was ",
                    j.contains(key) ? j[key].dump() : "missing", " when saved, now ", have, "; cannot resume exactly");
    };
    expect("batch_size", batch_size_);
    expect("seq_len", ds_.seq_len());
    expect("num_blocks", ds_.num_blocks());
    SINKLAB_CHECK(j.value("shuffle", shuffle_) == shuffle_, "sampler state: shuffle flag differs");
    restore({j.at("seed").get<uint64_t>(), j.at("epoch").get<int64_t>(), j.at("position").get<int64_t>()});
  }

 private:
  void next_epoch_if_done() {
    if (state_.position + batch_size_ <= static_cast<int64_t>(order_.size())) return;
    ++state_.epoch;
    state_.position = 0;
    reorder();
  }

  void reorder() {
    if (shuffle_) {
      order_ = epoch_order(ds_.num_blocks(), state_.seed, static_cast<uint64_t>(state_.epoch));
    } else {
      order_.resize(static_cast<std::size_t>(ds_.num_blocks()));
      for (int64_t i = 0; i < ds_.num_blocks(); ++i) order_[static_cast<std::size_t>(i)] = i;
    }
    order_.resize(static_cast<std::size_t>(batches_per_epoch() * batch_size_));
  }

  TokenDataset ds_;
  int64_t batch_size_;
  bool shuffle_;
  SamplerState state_;
  std::vector<int64_t> order_;
};

}  // namespace sinklab::data
