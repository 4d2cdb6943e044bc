#pragma once
// The data side of a pretraining run, from the config's `data` block: text/JSONL through a tokenizer (prepared once
// into a cached token file), ready token files, or the Bigram-Backcopy task generated on the fly; laid out in
// windows (`data.windows`, see data/windows.hpp) and split into training batches and a fixed validation set.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sinklab/data.hpp"
#include "sinklab/data/bigram_backcopy.hpp"
#include "sinklab/data/windows.hpp"
#include "sinklab/io/config.hpp"

namespace sinklab::train {

namespace fs = std::filesystem;

struct DataSplits {
  std::shared_ptr<data::TokenDataset> train;           // null for a generated task
  std::shared_ptr<data::TokenDataset> val;             // fixed: the same blocks at every evaluation and probe
  std::shared_ptr<const data::BigramBackcopy> task;    // data.format = bigram_backcopy
  int32_t vocab_size = 0;
  std::string tokenizer;  // spec for the probe app ("byte+eos", "sentencepiece:<path>", "none")

  // The training stream: shuffled blocks of `train`, or fresh task sequences.
  std::unique_ptr<data::BatchSource> training_batches(int64_t batch, int64_t seq_len, uint64_t seed) const {
    if (task) return std::make_unique<data::BackcopySampler>(task, batch, seq_len, seed);
    return std::make_unique<data::BatchSampler>(*train, batch, seed);
  }
};

inline std::vector<fs::path> path_list(const io::Json& v) {
  std::vector<fs::path> out;
  if (v.is_string() && !v.get<std::string>().empty()) out.emplace_back(v.get<std::string>());
  if (v.is_array())
    for (const auto& e : v) out.emplace_back(e.get<std::string>());
  return out;
}

namespace detail {
// (train, validation) from one stream of (seq_len + 1)-blocks, cut at a block boundary so no block straddles them.
inline std::pair<data::TokenDataset, data::TokenDataset> split_blocks(std::vector<int32_t> blocks, int64_t seq_len,
                                                                      double val_fraction) {
  SINKLAB_CHECK(val_fraction >= 0 && val_fraction < 1, "data.val_fraction must be in [0, 1), got ", val_fraction);
  const auto n = blocks.size() / std::size_t(seq_len + 1);
  const auto cut = (n - std::size_t(double(n) * val_fraction)) * std::size_t(seq_len + 1);
  auto store = std::make_shared<const std::vector<int32_t>>(std::move(blocks));
  const auto end = store->size();
  return {data::TokenDataset(store, 0, cut, seq_len), data::TokenDataset(store, cut, end, seq_len)};
}

inline int32_t special_id(const io::Json& d, const char* key, std::optional<int32_t> from_tokenizer) {
  const int64_t v = d[key].get<int64_t>();
  if (v >= 0) return static_cast<int32_t>(v);
  SINKLAB_CHECK(from_tokenizer.has_value(), "data.windows = ", d["windows"].get<std::string>(), " needs data.", key,
                " (this data format has no tokenizer to take it from)");
  return *from_tokenizer;
}
}  // namespace detail

// Tokenises (or reads, or generates) the configured data, cached under data.cache_dir.
inline DataSplits load_data(const io::Json& cfg, const fs::path& run_dir) {
  const auto& d = cfg["data"];
  const int64_t S = cfg["train"]["seq_len"].get<int64_t>();
  const std::string format = d["format"].get<std::string>();
  DataSplits out;
  if (format == "bigram_backcopy") {
    SINKLAB_CHECK(path_list(d["train"]).empty() && path_list(d["val"]).empty(),
                  "data.format = bigram_backcopy generates its data; data.train and data.val must be empty");
    SINKLAB_CHECK(d["windows"] == "packed", "data.windows: Bigram-Backcopy sequences always start at BOS; leave it "
                  "at packed");
    out.task = std::make_shared<const data::BigramBackcopy>(data::backcopy_spec_from_json(d["backcopy"]));
    const int64_t n_val = d["backcopy"]["val_sequences"].get<int64_t>();
    SINKLAB_CHECK(n_val >= 1, "data.backcopy.val_sequences must be >= 1, got ", n_val);
    out.val = std::make_shared<data::TokenDataset>(out.task->validation_set(n_val, S));
    out.vocab_size = static_cast<int32_t>(out.task->vocab_size());
    out.tokenizer = "none";
    return out;
  }
  const auto train_files = path_list(d["train"]), val_files = path_list(d["val"]);
  SINKLAB_CHECK(!train_files.empty(), "data.train: no training files configured");
  for (const auto& f : train_files) SINKLAB_CHECK(fs::exists(f), "data.train: '", f.string(), "' does not exist");
  for (const auto& f : val_files) SINKLAB_CHECK(fs::exists(f), "data.val: '", f.string(), "' does not exist");
  std::vector<int32_t> train_tokens, val_tokens;
  std::optional<int32_t> bos, eos;
  if (format == "text" || format == "jsonl") {
    const std::string tok_kind = d["tokenizer"].get<std::string>();
    std::string spec;
    if (tok_kind == "byte") {
      spec = "byte+eos";
    } else if (tok_kind == "sentencepiece") {
      fs::path model = d["sp_model"].get<std::string>();
      if (model.empty()) {  // train one on the first training file
        model = run_dir / "tokenizer.model";
        if (!fs::exists(model))
          data::SentencePieceTokenizer::train(data::expand_inputs(train_files).front(), run_dir / "tokenizer",
                                              d["sp_vocab_size"].get<int>(), d["sp_type"].get<std::string>());
      }
      spec = "sentencepiece:" + fs::absolute(model).string();
    } else {
      SINKLAB_FAIL("data.tokenizer: unknown value '", tok_kind, "' (expected byte or sentencepiece)");
    }
    const data::Tokenizer tok = data::Tokenizer::from_spec(spec);
    data::PrepareOptions opt;
    opt.cache_dir = d["cache_dir"].get<std::string>().empty() ? run_dir / "cache" : fs::path(d["cache_dir"].get<std::string>());
    opt.strip_gutenberg = d["strip_gutenberg"].get<bool>();
    train_tokens = data::read_token_file(data::prepare_corpus(std::span<const fs::path>(train_files), tok, opt).token_file).tokens;
    if (!val_files.empty())
      val_tokens = data::read_token_file(data::prepare_corpus(std::span<const fs::path>(val_files), tok, opt).token_file).tokens;
    out.vocab_size = tok.vocab_size();
    out.tokenizer = spec;
    bos = tok.bos_id(), eos = tok.eos_id();
  } else {
    data::TokenFormat f = data::TokenFormat::Auto;
    if (format == "llmc") f = data::TokenFormat::LlmC;
    else if (format == "litpkds") f = data::TokenFormat::Litpkds;
    else if (format == "tokens") f = data::TokenFormat::RawU16;
    else SINKLAB_FAIL("data.format: unknown value '", format,
                      "' (expected text, jsonl, llmc, litpkds, tokens or bigram_backcopy)");
    train_tokens = data::read_token_files(std::span<const fs::path>(train_files), f);
    val_tokens = data::read_token_files(std::span<const fs::path>(val_files), f);
    out.tokenizer = "none";
  }
  const auto layout = data::parse_window_layout(d["windows"].get<std::string>());
  auto lay_out = [&](const std::vector<int32_t>& tokens) {
    const int32_t b = detail::special_id(d, "bos_id", bos);
    if (layout == data::WindowLayout::bos) return data::bos_windows(tokens, S, b);
    return data::document_windows(tokens, S, b, detail::special_id(d, "eos_id", eos));
  };
  if (layout == data::WindowLayout::packed) {
    data::TokenDataset all(std::move(train_tokens), S);
    if (val_tokens.empty()) {
      auto [tr, va] = all.split_tail(d["val_fraction"].get<double>());
      out.train = std::make_shared<data::TokenDataset>(tr);
      out.val = std::make_shared<data::TokenDataset>(va);
    } else {
      out.train = std::make_shared<data::TokenDataset>(all);
      out.val = std::make_shared<data::TokenDataset>(data::TokenDataset(std::move(val_tokens), S));
    }
  } else if (val_tokens.empty()) {
    auto [tr, va] = detail::split_blocks(lay_out(train_tokens), S, d["val_fraction"].get<double>());
    out.train = std::make_shared<data::TokenDataset>(tr);
    out.val = std::make_shared<data::TokenDataset>(va);
  } else {
    out.train = std::make_shared<data::TokenDataset>(lay_out(train_tokens), S);
    out.val = std::make_shared<data::TokenDataset>(lay_out(val_tokens), S);
  }
  return out;
}

}  // namespace sinklab::train
