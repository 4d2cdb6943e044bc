#pragma once
// Every value rule of a resolved pretrain config (load_config), checked before a run touches its directory: a typo
// in an --overwrite run must fail while the old run is still there. Types and unknown keys are load_config's
// check; this adds ranges, the relations between keys (grad_accum divides batch_size, random_tokens lies within
// seq_len, ...) and that the data files are there and readable. Each error names the key and its value.
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>

#include "sinklab/attention/variants.hpp"
#include "sinklab/core/error.hpp"
#include "sinklab/io/config.hpp"
#include "sinklab/nn/config.hpp"

namespace sinklab::train {

namespace detail {
// The value at a dotted key ("optim.lr"); a missing key names it.
inline const nlohmann::json& config_at(const nlohmann::json& cfg, std::string_view key) {
  const nlohmann::json* node = &cfg;
  std::size_t start = 0;
  while (true) {
    const auto dot = key.find('.', start);
    const std::string part(key.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    SINKLAB_CHECK(node->is_object() && node->contains(part), "config: key '", key, "' is missing");
    node = &(*node)[part];
    if (dot == std::string_view::npos) return *node;
    start = dot + 1;
  }
}

inline int64_t config_int(const nlohmann::json& cfg, std::string_view key) {
  const auto& v = config_at(cfg, key);
  SINKLAB_CHECK(v.is_number_integer(), key, " must be an integer, got ", v.dump());
  SINKLAB_CHECK(!v.is_number_unsigned() || v.get<uint64_t>() <= uint64_t(std::numeric_limits<int64_t>::max()), key,
                " is out of range, got ", v.dump());
  return v.get<int64_t>();
}

inline double config_number(const nlohmann::json& cfg, std::string_view key) {
  const auto& v = config_at(cfg, key);
  SINKLAB_CHECK(v.is_number(), key, " must be a number, got ", v.dump());
  return v.get<double>();
}

inline std::string config_string(const nlohmann::json& cfg, std::string_view key) {
  const auto& v = config_at(cfg, key);
  SINKLAB_CHECK(v.is_string(), key, " must be a string, got ", v.dump());
  return v.get<std::string>();
}

// `value` is one of `allowed`; the error lists them.
inline void check_one_of(std::string_view key, const std::string& value, std::initializer_list<const char*> allowed) {
  std::string list;
  for (const char* a : allowed) {
    if (value == a) return;
    list += (list.empty() ? "" : ", ") + std::string(a);
  }
  SINKLAB_FAIL(key, ": unknown value '", value, "' (expected one of ", list, ")");
}

// data.train / data.val: one path or a list of them.
inline std::vector<std::filesystem::path> config_paths(const nlohmann::json& cfg, std::string_view key) {
  const auto& v = config_at(cfg, key);
  std::vector<std::filesystem::path> out;
  if (v.is_string()) {
    if (!v.get<std::string>().empty()) out.emplace_back(v.get<std::string>());
    return out;
  }
  SINKLAB_CHECK(v.is_array(), key, " must be a path or a list of paths, got ", v.dump());
  for (const auto& e : v) {
    SINKLAB_CHECK(e.is_string() && !e.get<std::string>().empty(), key, ": ", e.dump(), " is not a path");
    out.emplace_back(e.get<std::string>());
  }
  return out;
}

// A data input is a readable regular file or a directory (data.train may name one); a FIFO or device would block
// or never end, so it is refused here rather than read.
inline void check_readable(std::string_view key, const std::filesystem::path& p, bool directory_ok) {
  std::error_code ec;
  const auto st = std::filesystem::status(p, ec);
  SINKLAB_CHECK(std::filesystem::exists(st), key, ": '", p.string(), "' does not exist");
  if (directory_ok && std::filesystem::is_directory(st)) return;
  SINKLAB_CHECK(std::filesystem::is_regular_file(st), key, ": '", p.string(), "' is not a regular file",
                directory_ok ? " or directory" : "");
  SINKLAB_CHECK(std::ifstream(p, std::ios::binary).good(), key, ": '", p.string(), "' cannot be read");
}
}  // namespace detail

// Throws sinklab::Error on the first value out of its range; reads files' metadata only, writes nothing.
inline void validate_config(const nlohmann::json& cfg) {
  using namespace detail;
  auto at_least = [&](std::string_view key, int64_t lo) {
    const int64_t v = config_int(cfg, key);
    SINKLAB_CHECK(v >= lo, key, " must be >= ", lo, ", got ", v);
    return v;
  };
  auto in_range = [&](std::string_view key, int64_t lo, int64_t hi) {  // [lo, hi]
    const int64_t v = config_int(cfg, key);
    SINKLAB_CHECK(v >= lo && v <= hi, key, " must be in [", lo, ", ", hi, "], got ", v);
    return v;
  };
  // Negated comparisons so that a NaN fails too.
  auto positive = [&](std::string_view key) {
    const double v = config_number(cfg, key);
    SINKLAB_CHECK(v > 0 && v < std::numeric_limits<double>::infinity(), key, " must be > 0, got ", v);
    return v;
  };
  auto non_negative = [&](std::string_view key) {
    const double v = config_number(cfg, key);
    SINKLAB_CHECK(v >= 0 && v < std::numeric_limits<double>::infinity(), key, " must be >= 0, got ", v);
    return v;
  };
  auto unit_interval = [&](std::string_view key, bool zero_ok) {  // [0, 1) or (0, 1)
    const double v = config_number(cfg, key);
    SINKLAB_CHECK((zero_ok ? v >= 0 : v > 0) && v < 1, key, " must be in ", zero_ok ? "[0, 1)" : "(0, 1)", ", got ", v);
    return v;
  };

  SINKLAB_CHECK(!config_string(cfg, "run_dir").empty(), "run_dir: empty; name the run's directory");

  // The model first: its sizes bound the data keys below.
  const nn::ModelConfig mc = nn::model_config_from_json(config_at(cfg, "model"));
  try {
    attention::variant_index(mc.attention);
  } catch (const Error& e) {
    SINKLAB_FAIL("model.attention: ", e.what());
  }

  // train
  at_least("train.steps", 1);
  const int64_t batch = at_least("train.batch_size", 1);
  const int64_t S = at_least("train.seq_len", 2);
  SINKLAB_CHECK(S <= mc.max_seq_len, "train.seq_len ", S, " exceeds model.max_seq_len ", mc.max_seq_len);
  const int64_t accum = at_least("train.grad_accum", 1);
  SINKLAB_CHECK(batch % accum == 0, "train.batch_size (", batch, ") must be a multiple of train.grad_accum (", accum,
                ")");
  at_least("train.seed", 0);
  in_range("train.threads", 0, 1 << 16);
  in_range("train.zero", 0, 1);
  non_negative("train.collective_timeout");
  const std::string device = config_string(cfg, "train.device");
  SINKLAB_CHECK(device == "cpu" || device == "cuda", "train.device: '", device, "' is not a device (cpu, cuda)");
  const std::string dtype = config_string(cfg, "train.dtype");
  SINKLAB_CHECK(dtype == "float32", "train.dtype: '", dtype, "' is not supported yet (float32)");
  at_least("train.skip_nonfinite", 0);

  // optim
  const double lr = positive("optim.lr");
  const double min_lr = non_negative("optim.min_lr");
  SINKLAB_CHECK(min_lr <= lr, "optim.min_lr (", min_lr, ") must not exceed optim.lr (", lr, ")");
  check_one_of("optim.schedule", config_string(cfg, "optim.schedule"), {"constant", "cosine", "linear"});
  at_least("optim.warmup", 0);
  unit_interval("optim.beta1", true);
  unit_interval("optim.beta2", true);
  positive("optim.eps");
  non_negative("optim.weight_decay");
  check_one_of("optim.decay", config_string(cfg, "optim.decay"), {"all", "matrices"});
  non_negative("optim.clip");

  // log
  for (const char* k : {"log.every", "log.eval_every", "log.checkpoint_every", "log.probe_every"}) at_least(k, 0);
  at_least("log.eval_batches", config_int(cfg, "log.eval_every") > 0 ? 1 : 0);
  at_least("log.probe_samples", 1);
  at_least("log.probe_seq_len", 2);
  unit_interval("log.probe_eps", false);
  at_least("log.keep_checkpoints", 0);

  // data: what is read, and where the transforms write
  const std::string format = config_string(cfg, "data.format");
  check_one_of("data.format", format, {"text", "jsonl", "llmc", "litpkds", "tokens", "bigram_backcopy"});
  const auto train_files = config_paths(cfg, "data.train"), val_files = config_paths(cfg, "data.val");
  unit_interval("data.val_fraction", true);
  const std::string windows = config_string(cfg, "data.windows");
  check_one_of("data.windows", windows, {"packed", "bos", "documents"});
  for (const char* k : {"data.bos_id", "data.eos_id"}) in_range(k, -1, mc.vocab_size - 1);
  if (format == "bigram_backcopy") {
    SINKLAB_CHECK(train_files.empty() && val_files.empty(),
                  "data.format = bigram_backcopy generates its data; data.train and data.val must be empty");
    SINKLAB_CHECK(windows == "packed", "data.windows: '", windows,
                  "'; Bigram-Backcopy sequences always start at BOS, leave it at packed");
    const int64_t triggers = at_least("data.backcopy.triggers", 1);
    const int64_t vocab = in_range("data.backcopy.vocab", triggers + 2, 65535);  // two non-trigger tokens at least
    SINKLAB_CHECK(mc.vocab_size >= vocab + 1, "model.vocab_size ", mc.vocab_size,
                  " is too small for data.backcopy.vocab ", vocab, " (needs vocab + 1 for BOS)");
    const std::string table = config_string(cfg, "data.backcopy.table");
    check_one_of("data.backcopy.table", table, {"random", "corpus"});
    if (table == "random") {
      unit_interval("data.backcopy.trigger_mass", false);
      in_range("data.backcopy.support", 1, vocab - triggers);
    } else {
      const std::string corpus = config_string(cfg, "data.backcopy.corpus");
      SINKLAB_CHECK(!corpus.empty(), "data.backcopy.table = corpus needs data.backcopy.corpus (a text file)");
      check_readable("data.backcopy.corpus", corpus, false);
    }
    at_least("data.backcopy.seed", 0);
    at_least("data.backcopy.val_sequences", 1);
  } else {
    SINKLAB_CHECK(!train_files.empty(), "data.train: no training files configured");
    for (const auto& f : train_files) check_readable("data.train", f, true);
    for (const auto& f : val_files) check_readable("data.val", f, true);
    if (format == "text" || format == "jsonl") {
      const std::string tokenizer = config_string(cfg, "data.tokenizer");
      check_one_of("data.tokenizer", tokenizer, {"byte", "sentencepiece"});
      if (tokenizer == "sentencepiece") {
        check_one_of("data.sp_type", config_string(cfg, "data.sp_type"), {"bpe", "unigram"});
        at_least("data.sp_vocab_size", 1);
        const std::string sp_model = config_string(cfg, "data.sp_model");
        if (!sp_model.empty()) check_readable("data.sp_model", sp_model, false);
      }
    }
  }
  const auto& random_tokens = config_at(cfg, "data.random_tokens");
  SINKLAB_CHECK(random_tokens.is_array() && (random_tokens.empty() || random_tokens.size() == 2),
                "data.random_tokens must be [] or [a, b], got ", random_tokens.dump());
  if (!random_tokens.empty()) {
    const bool ints = random_tokens[0].is_number_integer() && random_tokens[1].is_number_integer();
    const int64_t a = ints ? random_tokens[0].get<int64_t>() : -1, b = ints ? random_tokens[1].get<int64_t>() : -1;
    SINKLAB_CHECK(ints && 0 <= a && a < b && b <= S,
                  "data.random_tokens must be [a, b] with 0 <= a < b <= train.seq_len (", S, "), got ",
                  random_tokens.dump());
  }
  const int64_t fixed_pos = in_range("data.fixed_token_pos", -1, S - 1);
  if (fixed_pos >= 0) in_range("data.fixed_token_id", 0, mc.vocab_size - 1);
  in_range("data.prefix_lm", 0, S);
}

// A data-parallel run on `ranks` processes: each takes grad_accum / ranks micro-batches of every step (note
// [global batch] in trainer.hpp), so the ranks must divide train.grad_accum.
inline void validate_ranks(const nlohmann::json& cfg, int ranks) {
  const int64_t accum = detail::config_int(cfg, "train.grad_accum"), batch = detail::config_int(cfg, "train.batch_size");
  SINKLAB_CHECK(accum % ranks == 0, "train.grad_accum (", accum, ") must be a multiple of the number of ranks (", ranks,
                "): every rank takes grad_accum / ranks micro-batches of ", batch / accum,
                " sequences per step. Try --set train.grad_accum=", ranks, " (with train.batch_size a multiple of it)");
}

}  // namespace sinklab::train
