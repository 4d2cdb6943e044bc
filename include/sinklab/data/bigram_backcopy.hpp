#pragma once
// Bigram-Backcopy (Guo et al. 2024, "Active-Dormant Attention Heads: Mechanistically Demystifying Extreme-Token
// Phenomena in LLMs", §2): the controlled task on which a one-layer softmax head is known to grow a sink on BOS.
//   x_0 = BOS; x_1 ~ the marginal without triggers;
//   for n >= 1: x_{n+1} = x_{n-1}          when x_n is a trigger    ("backcopy")
//               x_{n+1} ~ P(· | x_n)        otherwise                ("bigram")
// Triggers are a few tokens carrying ~30 % of the bigram mass. A head that only has to backcopy is "dormant" on
// non-trigger queries; with softmax it must still put its unit of weight somewhere, and it learns to park it on BOS
// (whose value it drives to ~0), so the sink forms exactly as the backcopy loss falls.
//
// Note [trigger after trigger]: x_1 is not a trigger, bigram rows are only used after non-triggers and backcopy
// copies x_{n-1}; by induction every trigger is preceded by a non-trigger, so a backcopied token is never a trigger
// and the rule is well defined without a special case.
//
// Sequences are a pure function of (seed, index): every one is generated from its own splitmix64 stream with
// integer and IEEE-exact arithmetic only (no log/exp in the sampler), so the stream is the same on every platform
// and a resumed run continues it exactly from a counter.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "sinklab/core/error.hpp"
#include "sinklab/data/dataset.hpp"
#include "sinklab/io/atomic_file.hpp"

namespace sinklab::data {

struct BackcopySpec {
  int64_t vocab = 64;         // content tokens 0..vocab-1; BOS = vocab, so a model needs vocab + 1 ids
  int64_t triggers = 3;       // ids 0..triggers-1 (table = corpus: the most frequent characters)
  double trigger_mass = 0.3;  // table = random: each bigram row puts this share on the triggers (uniformly)
  int64_t support = 8;        // table = random: non-trigger successors per row, random weights
  std::string table = "random";  // random | corpus
  std::string corpus;            // table = corpus: a text file whose byte bigrams make P(·|·)
  uint64_t seed = 1;             // the task: table, and the validation sequences; train.seed drives training
};

// From a config's data.backcopy object (as validated by train::validate_config, or read back from a run's
// config.json); missing keys keep their defaults.
inline BackcopySpec backcopy_spec_from_json(const nlohmann::json& j) {
  BackcopySpec s;
  try {
    s.vocab = j.value("vocab", s.vocab);
    s.triggers = j.value("triggers", s.triggers);
    s.trigger_mass = j.value("trigger_mass", s.trigger_mass);
    s.support = j.value("support", s.support);
    s.table = j.value("table", s.table);
    s.corpus = j.value("corpus", s.corpus);
    s.seed = j.value("seed", s.seed);
  } catch (const nlohmann::json::exception& e) {
    SINKLAB_FAIL("data.backcopy: a value has the wrong type (", e.what(), ")");
  }
  return s;
}

inline nlohmann::json to_json(const BackcopySpec& s) {
  return {{"vocab", s.vocab},     {"triggers", s.triggers}, {"trigger_mass", s.trigger_mass}, {"support", s.support},
          {"table", s.table},     {"corpus", s.corpus},     {"seed", s.seed}};
}

class BigramBackcopy {
 public:
  explicit BigramBackcopy(BackcopySpec spec) : spec_(std::move(spec)) {
    const auto& s = spec_;
    SINKLAB_CHECK(s.triggers >= 1, "data.backcopy.triggers must be >= 1, got ", s.triggers);
    SINKLAB_CHECK(s.vocab >= s.triggers + 2 && s.vocab <= 65535, "data.backcopy.vocab must be in [triggers + 2, 65535]",
                  " (at least two non-trigger tokens), got ", s.vocab);
    if (s.table == "random") {
      SINKLAB_CHECK(s.trigger_mass > 0 && s.trigger_mass < 1, "data.backcopy.trigger_mass must be in (0, 1), got ",
                    s.trigger_mass);
      SINKLAB_CHECK(s.support >= 1 && s.support <= s.vocab - s.triggers, "data.backcopy.support must be in [1, ",
                    s.vocab - s.triggers, "] (the non-trigger tokens), got ", s.support);
      build_random_table();
    } else if (s.table == "corpus") {
      build_corpus_table();
    } else {
      SINKLAB_FAIL("data.backcopy.table: unknown value '", s.table, "' (expected random or corpus)");
    }
    build_marginal();
  }

  const BackcopySpec& spec() const { return spec_; }
  int64_t vocab() const { return spec_.vocab; }
  int32_t bos() const { return static_cast<int32_t>(spec_.vocab); }
  int64_t vocab_size() const { return spec_.vocab + 1; }  // content tokens + BOS
  bool is_trigger(int32_t t) const { return t >= 0 && t < spec_.triggers; }
  // P(· | a) over the content tokens, and the distribution of x_1 (the marginal without triggers).
  std::span<const double> row(int32_t a) const {
    return {prob_.data() + std::size_t(a) * std::size_t(spec_.vocab), std::size_t(spec_.vocab)};
  }
  std::span<const double> first_token() const { return first_; }
  // Bytes behind the ids for table = corpus (empty for random tables).
  const std::vector<unsigned char>& characters() const { return chars_; }

  // out = BOS, x_1, ..., x_{len-1}, drawn from `rng`.
  void sample(SplitMix64& rng, std::span<int32_t> out) const {
    if (out.empty()) return;
    out[0] = bos();
    if (out.size() > 1) out[1] = draw(first_cdf_, rng);
    for (std::size_t n = 1; n + 1 < out.size(); ++n)
      out[n + 1] = is_trigger(out[n]) ? out[n - 1] : draw(row_cdf(out[n]), rng);
  }

  // Sequence `index` of the stream `seed`: `length` tokens starting with BOS.
  std::vector<int32_t> sequence(uint64_t seed, uint64_t index, int64_t length) const {
    std::vector<int32_t> out(static_cast<std::size_t>(length));
    auto rng = seeded_stream(seed, index);
    sample(rng, out);
    return out;
  }

  // `count` held-out sequences of seq_len + 1 tokens as a dataset of disjoint blocks (block i = sequence i), from
  // a stream of the task's own seed, so every run on the same task validates and probes on the same sequences.
  TokenDataset validation_set(int64_t count, int64_t seq_len) const {
    std::vector<int32_t> tokens;
    tokens.reserve(static_cast<std::size_t>(count * (seq_len + 1)));
    for (int64_t i = 0; i < count; ++i) {
      const auto s = sequence(validation_seed(), static_cast<uint64_t>(i), seq_len + 1);
      tokens.insert(tokens.end(), s.begin(), s.end());
    }
    return TokenDataset(std::move(tokens), seq_len);
  }
  uint64_t validation_seed() const { return spec_.seed ^ 0x76616c6964617465ull; }  // "validate"

  // Entropy (nats) of the next token after position n of a sequence: 0 after a trigger (backcopy is
  // deterministic), H(x_1) after BOS, H(P(·|x_n)) otherwise. The loss of the oracle predictor in expectation.
  double next_token_entropy(std::span<const int32_t> seq, std::size_t n) const {
    if (n == 0) return first_entropy_;
    return is_trigger(seq[n]) ? 0.0 : row_entropy_[std::size_t(seq[n])];
  }

  // Share of bigram draws that land on a trigger, under the stationary distribution of the process (measured on
  // a long seeded sample; reported in task descriptions).
  double measured_trigger_share(int64_t tokens = 200000) const {
    std::vector<int32_t> s(static_cast<std::size_t>(tokens));
    auto rng = seeded_stream(spec_.seed, 0x7472696767657273ull);  // "triggers"
    sample(rng, s);
    int64_t draws = 0, hits = 0;
    for (std::size_t n = 1; n + 1 < s.size(); ++n)
      if (!is_trigger(s[n])) ++draws, hits += is_trigger(s[n + 1]);
    return draws ? double(hits) / double(draws) : 0.0;
  }

 private:
  static double uniform01(SplitMix64& rng) { return double(rng.next() >> 11) * 0x1.0p-53; }  // [0, 1), exact

  static int32_t draw(std::span<const double> cdf, SplitMix64& rng) {
    const double u = uniform01(rng);
    const auto it = std::upper_bound(cdf.begin(), cdf.end(), u);  // first entry with cdf > u: positive mass
    return static_cast<int32_t>(std::min<std::ptrdiff_t>(it - cdf.begin(), std::ptrdiff_t(cdf.size()) - 1));
  }
  std::span<const double> row_cdf(int32_t a) const {
    return {cdf_.data() + std::size_t(a) * std::size_t(spec_.vocab), std::size_t(spec_.vocab)};
  }

  static double entropy(std::span<const double> p) {
    double h = 0;
    for (double x : p)
      if (x > 0) h -= x * std::log(x);
    return h;
  }

  void finish_rows() {
    const auto V = std::size_t(spec_.vocab);
    cdf_.assign(V * V, 0.0);
    row_entropy_.assign(V, 0.0);
    for (std::size_t a = 0; a < V; ++a) {
      double c = 0;
      for (std::size_t b = 0; b < V; ++b) cdf_[a * V + b] = c += prob_[a * V + b];
      cdf_[a * V + V - 1] = 1.0;  // rounding never leaves a gap at the top
      row_entropy_[a] = entropy(row(int32_t(a)));
    }
  }

  // Every row: trigger_mass spread evenly over the triggers, the rest over `support` random non-trigger
  // successors with weights uniform in (0, 1]. Trigger rows are drawn the same way; the process never uses them
  // (Note [trigger after trigger]) but the marginal below does.
  void build_random_table() {
    const auto V = std::size_t(spec_.vocab), K = std::size_t(spec_.triggers);
    prob_.assign(V * V, 0.0);
    auto rng = seeded_stream(spec_.seed, 0x7461626c65ull);  // "table"
    std::vector<std::size_t> pool(V - K);
    for (std::size_t a = 0; a < V; ++a) {
      double* p = prob_.data() + a * V;
      for (std::size_t t = 0; t < K; ++t) p[t] = spec_.trigger_mass / double(K);
      for (std::size_t i = 0; i < pool.size(); ++i) pool[i] = K + i;
      std::vector<double> w(std::size_t(spec_.support));
      double total = 0;
      for (std::size_t j = 0; j < w.size(); ++j) {  // partial Fisher-Yates: `support` distinct successors
        std::swap(pool[j], pool[j + rng.below(pool.size() - j)]);
        total += w[j] = 1.0 - uniform01(rng);
      }
      for (std::size_t j = 0; j < w.size(); ++j) p[pool[j]] = (1.0 - spec_.trigger_mass) * w[j] / total;
    }
    finish_rows();
  }

  // The `vocab` most frequent bytes of the corpus become ids 0..vocab-1 in order of frequency (so the triggers are
  // the most frequent characters), and P(b | a) is the corpus's byte-bigram frequency among them; a row with no
  // observed successor falls back to the unigram frequencies.
  void build_corpus_table() {
    SINKLAB_CHECK(!spec_.corpus.empty(), "data.backcopy.table = corpus needs data.backcopy.corpus (a text file)");
    const std::string text = io::read_text_file(spec_.corpus);
    std::vector<int64_t> freq(256, 0);
    for (unsigned char c : text) ++freq[c];
    std::vector<int> order(256);
    for (int i = 0; i < 256; ++i) order[std::size_t(i)] = i;
    std::stable_sort(order.begin(), order.end(), [&](int x, int y) { return freq[std::size_t(x)] > freq[std::size_t(y)]; });
    const auto V = std::size_t(spec_.vocab);
    SINKLAB_CHECK(freq[std::size_t(order[V - 1])] > 0, "data.backcopy.corpus '", spec_.corpus, "' has fewer than ", V,
                  " distinct bytes; lower data.backcopy.vocab");
    std::vector<int> id(256, -1);
    chars_.clear();
    for (std::size_t i = 0; i < V; ++i) id[std::size_t(order[i])] = int(i), chars_.push_back((unsigned char)order[i]);
    std::vector<double> counts(V * V, 0.0), unigram(V, 0.0);
    int prev = -1;
    for (unsigned char c : text) {
      const int cur = id[c];
      if (cur >= 0) {
        unigram[std::size_t(cur)] += 1;
        if (prev >= 0) counts[std::size_t(prev) * V + std::size_t(cur)] += 1;
      }
      prev = cur;
    }
    prob_.assign(V * V, 0.0);
    for (std::size_t a = 0; a < V; ++a) {
      double total = 0;
      for (std::size_t b = 0; b < V; ++b) total += counts[a * V + b];
      const double* src = total > 0 ? counts.data() + a * V : unigram.data();
      if (total <= 0)
        for (double u : unigram) total += u;
      for (std::size_t b = 0; b < V; ++b) prob_[a * V + b] = src[b] / total;
    }
    finish_rows();
  }

  // x_1 ~ the stationary distribution of P restricted to the non-triggers. Power iteration on the lazy chain
  // (½ I + ½ P has P's stationary distribution and is aperiodic), in a fixed order: exact and portable.
  void build_marginal() {
    const auto V = std::size_t(spec_.vocab);
    std::vector<double> pi(V, 1.0 / double(V)), next(V);
    for (int it = 0; it < 2000; ++it) {
      for (std::size_t b = 0; b < V; ++b) next[b] = 0.5 * pi[b];
      for (std::size_t a = 0; a < V; ++a)
        for (std::size_t b = 0; b < V; ++b) next[b] += 0.5 * pi[a] * prob_[a * V + b];
      pi.swap(next);
    }
    first_.assign(V, 0.0);
    double total = 0;
    for (std::size_t b = std::size_t(spec_.triggers); b < V; ++b) total += pi[b];
    SINKLAB_CHECK(total > 0, "Bigram-Backcopy: the non-trigger tokens have no stationary mass (table '", spec_.table,
                  "'); use fewer triggers");
    for (std::size_t b = std::size_t(spec_.triggers); b < V; ++b) first_[b] = pi[b] / total;
    first_cdf_.assign(V, 0.0);
    double c = 0;
    for (std::size_t b = 0; b < V; ++b) first_cdf_[b] = c += first_[b];
    first_cdf_[V - 1] = 1.0;
    first_entropy_ = entropy(first_);
  }

  BackcopySpec spec_;
  std::vector<double> prob_, cdf_, row_entropy_, first_, first_cdf_;  // prob_/cdf_: (vocab, vocab) row-major
  double first_entropy_ = 0;
  std::vector<unsigned char> chars_;
};

// Endless training batches of fresh Bigram-Backcopy sequences: sample i of the run is sequence (train seed, i), so
// the stream's whole state is one counter, saved in checkpoints, and a resumed run sees exactly the same samples.
class BackcopySampler final : public BatchSource {
 public:
  BackcopySampler(std::shared_ptr<const BigramBackcopy> task, int64_t batch_size, int64_t seq_len, uint64_t seed)
      : task_(std::move(task)), batch_size_(batch_size), seq_len_(seq_len), seed_(seed) {
    SINKLAB_CHECK(batch_size_ >= 1 && seq_len_ >= 1, "BackcopySampler: batch_size and seq_len must be >= 1");
  }

  Batch next() override {
    Batch b;
    b.batch_size = batch_size_;
    b.seq_len = seq_len_;
    const auto S = std::size_t(seq_len_);
    b.inputs.resize(std::size_t(batch_size_) * S);
    b.targets.resize(b.inputs.size());
    std::vector<int32_t> seq(S + 1);
    for (int64_t r = 0; r < batch_size_; ++r) {
      auto rng = seeded_stream(seed_, next_sample_);
      task_->sample(rng, seq);
      std::copy(seq.begin(), seq.end() - 1, b.inputs.begin() + std::ptrdiff_t(r) * std::ptrdiff_t(S));
      std::copy(seq.begin() + 1, seq.end(), b.targets.begin() + std::ptrdiff_t(r) * std::ptrdiff_t(S));
      b.block_ids.push_back(int64_t(next_sample_));
      b.sample_ids.push_back(int64_t(next_sample_));
      ++next_sample_;
    }
    return b;
  }

  void skip() override { next_sample_ += uint64_t(batch_size_); }

  nlohmann::json state_json() const override {
    return {{"kind", "bigram_backcopy"}, {"seed", seed_},        {"next_sample", next_sample_},
            {"batch_size", batch_size_}, {"seq_len", seq_len_}, {"task", to_json(task_->spec())}};
  }
  void load_state_json(const nlohmann::json& j) override {
    SINKLAB_CHECK(j.value("kind", "") == "bigram_backcopy", "sampler state: saved by a '", j.value("kind", "token file"),
                  "' sampler, not bigram_backcopy; cannot resume this run with another data.format");
    SINKLAB_CHECK(j.at("task") == to_json(task_->spec()), "sampler state: the run was trained on the task ",
                  j.at("task").dump(), ", not ", to_json(task_->spec()).dump(), "; cannot resume exactly");
    SINKLAB_CHECK(j.at("batch_size").get<int64_t>() == batch_size_ && j.at("seq_len").get<int64_t>() == seq_len_,
                  "sampler state: batch ", j.at("batch_size").dump(), " × ", j.at("seq_len").dump(),
                  " when saved, now ", batch_size_, " × ", seq_len_, "; cannot resume exactly");
    seed_ = j.at("seed").get<uint64_t>();
    next_sample_ = j.at("next_sample").get<uint64_t>();
  }

 private:
  std::shared_ptr<const BigramBackcopy> task_;
  int64_t batch_size_, seq_len_;
  uint64_t seed_, next_sample_ = 0;
};

}  // namespace sinklab::data
