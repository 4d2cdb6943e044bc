#pragma once
// Corpus preparation: .txt (a file is one document) and .jsonl (one {"text": ...} document per line), given as
// files, directories (searched recursively, sorted so the order is stable) or a list, tokenised and packed into one
// llm.c token file. Each document is followed by the tokenizer's EOS when it has one, so attention can learn the
// boundary. The output is cached under a key hashing (paths, sizes, mtimes, tokenizer identity, options): a second
// prepare with nothing changed reuses the file without tokenising (PrepareResult::reused).
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "sinklab/core/error.hpp"
#include "sinklab/data/token_file.hpp"
#include "sinklab/data/tokenizer.hpp"
#include "sinklab/io/atomic_file.hpp"

namespace sinklab::data {

struct PrepareOptions {
  std::filesystem::path cache_dir = "data/cache";
  bool strip_gutenberg = false;  // keep only the lines between "*** START OF" and "*** END OF"; CRLF -> LF
  std::string text_field = "text";
  bool force = false;  // re-tokenise even when a cached file exists
};

struct PrepareResult {
  std::filesystem::path token_file;  // llm.c format
  bool reused = false;
  int64_t num_tokens = 0, num_documents = 0;
  std::string cache_key;
  std::vector<std::filesystem::path> inputs;  // the expanded, ordered file list
};

// CRLF -> LF, then the lines strictly between the "*** START OF" line and the "*** END OF" line (Project
// Gutenberg's licence header and footer). Text without the markers is returned whole (LF-normalised).
inline std::string strip_gutenberg(std::string_view text) {
  std::string lf;
  lf.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i)
    if (!(text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n')) lf.push_back(text[i]);
  std::size_t begin = std::string::npos, end = lf.size();
  for (std::size_t pos = 0; pos < lf.size();) {
    const auto nl = lf.find('\n', pos);
    const std::size_t next = nl == std::string::npos ? lf.size() : nl + 1;
    const std::string_view line(lf.data() + pos, next - pos);
    if (begin == std::string::npos && line.starts_with("*** START OF"))
      begin = next;
    else if (begin != std::string::npos && line.starts_with("*** END OF")) {
      end = pos;
      break;
    }
    pos = next;
  }
  return begin == std::string::npos ? lf : lf.substr(begin, end - begin);
}

// Files and directories -> the sorted list of .txt/.jsonl files (explicit files are kept whatever their extension).
inline std::vector<std::filesystem::path> expand_inputs(std::span<const std::filesystem::path> inputs) {
  std::vector<std::filesystem::path> out;
  for (const auto& in : inputs) {
    SINKLAB_CHECK(std::filesystem::exists(in), "corpus input '", in.string(), "' does not exist");
    if (std::filesystem::is_directory(in)) {
      std::vector<std::filesystem::path> found;
      for (const auto& e : std::filesystem::recursive_directory_iterator(in)) {
        const auto ext = e.path().extension();
        if (e.is_regular_file() && (ext == ".txt" || ext == ".jsonl")) found.push_back(e.path());
      }
      std::sort(found.begin(), found.end());
      SINKLAB_CHECK(!found.empty(), "corpus directory '", in.string(), "' has no .txt or .jsonl files");
      out.insert(out.end(), found.begin(), found.end());
    } else {
      out.push_back(in);
    }
  }
  return out;
}

// The documents of one file; errors name the file (and the line for .jsonl).
inline std::vector<std::string> read_documents(const std::filesystem::path& path, const PrepareOptions& opt = {}) {
  auto clean = [&](std::string s) { return opt.strip_gutenberg ? strip_gutenberg(s) : s; };
  if (path.extension() != ".jsonl") return {clean(io::read_text_file(path))};
  std::istringstream is(io::read_text_file(path));  // read_text_file refuses FIFOs and devices by name
  std::vector<std::string> docs;
  std::string line;
  for (int64_t n = 1; std::getline(is, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto v = nlohmann::json::parse(line, nullptr, false);
    SINKLAB_CHECK(!v.is_discarded(), "'", path.string(), "' line ", n, ": invalid JSON");
    SINKLAB_CHECK(v.is_object() && v.contains(opt.text_field) && v[opt.text_field].is_string(), "'", path.string(),
                  "' line ", n, ": no string field \"", opt.text_field, "\"");
    docs.push_back(clean(v[opt.text_field].get<std::string>()));
  }
  return docs;
}

inline std::string prepare_cache_key(std::span<const std::filesystem::path> files,
                                     const std::string& tokenizer_identity, const PrepareOptions& opt) {
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a 64: stable across platforms, unlike std::hash
  auto mix = [&](std::string_view s) {
    for (const char c : s) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
    h = (h ^ 0xffu) * 0x100000001b3ull;  // field separator
  };
  mix("sinklab-prepare-v1");
  mix(tokenizer_identity);
  mix(opt.strip_gutenberg ? "strip" : "nostrip");
  mix(opt.text_field);
  for (const auto& f : files) {
    mix(std::filesystem::absolute(f).lexically_normal().string());
    mix(std::to_string(std::filesystem::file_size(f)));
    mix(std::to_string(std::filesystem::last_write_time(f).time_since_epoch().count()));
  }
  std::ostringstream os;
  os << std::hex << h;
  return os.str();
}

template <TokenizerLike Tok>
PrepareResult prepare_corpus(std::span<const std::filesystem::path> inputs, const Tok& tok,
                             const PrepareOptions& opt = {}) {
  PrepareResult r;
  r.inputs = expand_inputs(inputs);
  SINKLAB_CHECK(!r.inputs.empty(), "prepare_corpus: no inputs");
  r.cache_key = prepare_cache_key(r.inputs, tok.identity(), opt);
  std::filesystem::create_directories(opt.cache_dir);
  r.token_file = opt.cache_dir / ("tokens-" + r.cache_key + ".bin");
  const auto manifest_path = opt.cache_dir / ("tokens-" + r.cache_key + ".json");
  // The manifest is written before the token file, and the token file atomically, so its presence means complete.
  if (!opt.force && std::filesystem::exists(r.token_file) && std::filesystem::exists(manifest_path)) {
    const auto m = nlohmann::json::parse(io::read_text_file(manifest_path));
    r.num_tokens = m.at("num_tokens").get<int64_t>();
    r.num_documents = m.at("num_documents").get<int64_t>();
    r.reused = true;
    return r;
  }
  const auto eos = tok.eos_id();
  std::vector<int32_t> all;
  for (const auto& f : r.inputs) {
    const auto docs = read_documents(f, opt);
    std::vector<std::vector<int32_t>> encoded(docs.size());
#pragma omp parallel for schedule(dynamic)
    for (std::ptrdiff_t i = 0; i < static_cast<std::ptrdiff_t>(docs.size()); ++i) encoded[i] = tok.encode(docs[i]);
    for (auto& e : encoded) {
      all.insert(all.end(), e.begin(), e.end());
      if (eos) all.push_back(*eos);
    }
    r.num_documents += static_cast<int64_t>(docs.size());
  }
  r.num_tokens = static_cast<int64_t>(all.size());
  nlohmann::json manifest = {{"tokenizer", tok.identity()},
                             {"num_tokens", r.num_tokens},
                             {"num_documents", r.num_documents},
                             {"strip_gutenberg", opt.strip_gutenberg},
                             {"inputs", nlohmann::json::array()}};
  for (const auto& f : r.inputs) manifest["inputs"].push_back(f.string());
  io::write_file_atomic(manifest_path, std::string_view(manifest.dump(2)));
  write_llmc_tokens(r.token_file, all);
  return r;
}

template <TokenizerLike Tok>
PrepareResult prepare_corpus(const std::filesystem::path& input, const Tok& tok, const PrepareOptions& opt = {}) {
  return prepare_corpus(std::span<const std::filesystem::path>(&input, 1), tok, opt);
}

}  // namespace sinklab::data
