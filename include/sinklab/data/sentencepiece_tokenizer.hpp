#pragma once
// SentencePiece (BPE or unigram) tokenizer: train on a corpus, load a .model, encode/decode.
// Needs linking: target sinklab::sentencepiece (cmake/sinklab_sentencepiece.cmake), which also defines
// SINKLAB_HAVE_SENTENCEPIECE so tokenizer.hpp's runtime wrapper includes this header.
//
// Training flags are chosen so decode(encode(s)) == s for any UTF-8 text: identity normalisation (no NFKC), no
// whitespace collapsing, no dummy prefix, and byte_fallback so unseen characters (and '\n', which the line-based
// trainer never sees) become <0xNN> byte pieces instead of <unk>. Caveat: U+2581 '▁' in the input decodes as ' '.
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "sinklab/core/error.hpp"

namespace sentencepiece::logging {
int GetMinLogLevel();      // exported by libsentencepiece but not declared in its public headers
void SetMinLogLevel(int);  // 0 = INFO (the trainer is chatty), 1 = WARNING, 2 = ERROR
}  // namespace sentencepiece::logging

namespace sinklab::data {

struct SentencePieceTrainOptions {
  std::string model_type = "bpe";  // "bpe" | "unigram"
  double character_coverage = 1.0;
  int64_t input_sentence_size = 2'000'000;  // lines sampled from the corpus (0 = all)
  int num_threads = 2;
  bool quiet = true;
  std::string extra_flags;  // appended verbatim, e.g. "--split_digits=false"
};

class SentencePieceTokenizer {
 public:
  // Trains `<model_prefix>.model` / `.vocab` from a text file (one sentence per line) and returns the .model path.
  // Ids: unk 0, bos 1, eos 2; no pad.
  static std::filesystem::path train(const std::filesystem::path& corpus, const std::filesystem::path& model_prefix,
                                     int vocab_size, const SentencePieceTrainOptions& opt = {}) {
    SINKLAB_CHECK(opt.model_type == "bpe" || opt.model_type == "unigram", "SentencePiece model_type must be 'bpe' or ",
                  "'unigram', got '", opt.model_type, "'");
    SINKLAB_CHECK(std::filesystem::exists(corpus), "SentencePiece training corpus '", corpus.string(), "' not found");
    if (!model_prefix.parent_path().empty()) std::filesystem::create_directories(model_prefix.parent_path());
    std::ostringstream args;
    args << "--input=" << corpus.string() << " --model_prefix=" << model_prefix.string()
         << " --vocab_size=" << vocab_size << " --model_type=" << opt.model_type
         << " --character_coverage=" << opt.character_coverage
         << " --byte_fallback=true --normalization_rule_name=identity --remove_extra_whitespaces=false"
         << " --add_dummy_prefix=false --split_digits=true --allow_whitespace_only_pieces=true"
         << " --unk_id=0 --bos_id=1 --eos_id=2 --pad_id=-1 --num_threads=" << opt.num_threads
         << " --input_sentence_size=" << opt.input_sentence_size << " --shuffle_input_sentence=true";
    if (!opt.extra_flags.empty()) args << ' ' << opt.extra_flags;
    const int old_level = sentencepiece::logging::GetMinLogLevel();
    if (opt.quiet) sentencepiece::logging::SetMinLogLevel(1);
    const auto status = sentencepiece::SentencePieceTrainer::Train(args.str());
    sentencepiece::logging::SetMinLogLevel(old_level);
    SINKLAB_CHECK(status.ok(), "SentencePiece training on '", corpus.string(), "' failed: ", status.ToString());
    return model_prefix.string() + ".model";
  }

  static std::filesystem::path train(const std::filesystem::path& corpus, const std::filesystem::path& model_prefix,
                                     int vocab_size, const std::string& model_type) {
    SentencePieceTrainOptions opt;
    opt.model_type = model_type;
    return train(corpus, model_prefix, vocab_size, opt);
  }

  static SentencePieceTokenizer load(const std::filesystem::path& model_path) {
    auto sp = std::make_shared<sentencepiece::SentencePieceProcessor>();
    const auto status = sp->Load(model_path.string());
    SINKLAB_CHECK(status.ok(), "cannot load SentencePiece model '", model_path.string(), "': ", status.ToString());
    return SentencePieceTokenizer(std::move(sp));
  }

  int32_t vocab_size() const { return sp_->GetPieceSize(); }
  std::optional<int32_t> bos_id() const { return id_or_none(sp_->bos_id()); }
  std::optional<int32_t> eos_id() const { return id_or_none(sp_->eos_id()); }
  // The model's content hash, so a retrained model with the same file name invalidates prepare's cache.
  std::string identity() const { return identity_; }

  std::vector<int32_t> encode(std::string_view text) const {
    std::vector<int> ids;
    const auto status = sp_->Encode(text, &ids);
    SINKLAB_CHECK(status.ok(), "SentencePiece encode failed: ", status.ToString());
    return {ids.begin(), ids.end()};
  }

  std::string decode(std::span<const int32_t> ids) const {
    for (const int32_t id : ids)
      SINKLAB_CHECK(id >= 0 && id < vocab_size(), "SentencePiece decode: id ", id, " outside vocab ", vocab_size());
    std::string out;
    const auto status = sp_->Decode(std::vector<int>(ids.begin(), ids.end()), &out);
    SINKLAB_CHECK(status.ok(), "SentencePiece decode failed: ", status.ToString());
    return out;
  }

  const sentencepiece::SentencePieceProcessor& processor() const { return *sp_; }

 private:
  explicit SentencePieceTokenizer(std::shared_ptr<const sentencepiece::SentencePieceProcessor> sp)
      : sp_(std::move(sp)) {
    const std::string proto = sp_->serialized_model_proto();
    uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a 64
    for (const char c : proto) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
    std::ostringstream os;
    os << "sentencepiece:" << std::hex << h;
    identity_ = os.str();
  }
  static std::optional<int32_t> id_or_none(int id) { return id >= 0 ? std::optional<int32_t>(id) : std::nullopt; }

  std::shared_ptr<const sentencepiece::SentencePieceProcessor>
      sp_;  // shared: Encode/Decode are const, copies are cheap
  std::string identity_;
};

}  // namespace sinklab::data
