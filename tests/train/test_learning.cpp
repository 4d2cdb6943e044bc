#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "tiny_run.hpp"

using namespace sinklab;
namespace fs = std::filesystem;

// Trains a tiny byte-level model on tinyshakespeare. Why the threshold means learning: a model that only learned
// byte frequencies sits at the unigram entropy of the text (≈ 3.3 nats/byte), and the best model that looks at one
// previous byte sits at the bigram conditional entropy H(x_t | x_{t-1}) (≈ 2.45), both computed below from the whole
// file, i.e. in-sample, which flatters them. Validation loss below the bigram entropy on held-out text can only come
// from using more than one byte of context, which is what attention is for.
TEST_CASE("train: byte-level model learns tinyshakespeare (validation loss below the bigram entropy)", "[train][data]") {
  const fs::path text = fs::path(SINKLAB_SHARED_DATA) / "tinyshakespeare" / "input.txt";
  if (!fs::exists(text)) {
    WARN("skipped: " << text.string() << " not found");
    return;
  }
  const auto bytes = io::read_text_file(text);
  std::array<double, 256> freq{};
  for (unsigned char ch : bytes) freq[ch] += 1;
  double unigram = 0;
  for (double f : freq)
    if (f > 0) unigram -= f / bytes.size() * std::log(f / bytes.size());
  std::vector<double> pair(256 * 256, 0.0), prev(256, 0.0);
  for (std::size_t i = 1; i < bytes.size(); ++i) {
    pair[std::size_t((unsigned char)bytes[i - 1]) * 256 + (unsigned char)bytes[i]] += 1;
    prev[(unsigned char)bytes[i - 1]] += 1;
  }
  double bigram = 0;
  const double pairs = double(bytes.size() - 1);
  for (std::size_t a = 0; a < 256; ++a)
    for (std::size_t b = 0; b < 256; ++b)
      if (const double n = pair[a * 256 + b]; n > 0) bigram -= n / pairs * std::log(n / prev[a]);
  const auto dir = tiny::fresh_dir("shakespeare");
  auto cfg = tiny::config(dir / "run", text, 150);
  cfg["model"]["d_model"] = 64;
  cfg["model"]["n_heads"] = 4;
  cfg["model"]["max_seq_len"] = 64;
  cfg["train"]["seq_len"] = 64;
  cfg["train"]["batch_size"] = 16;
  cfg["optim"]["lr"] = 3e-3;
  cfg["optim"]["warmup"] = 20;
  cfg["log"]["eval_every"] = 150;
  cfg["log"]["eval_batches"] = 8;
  cfg["log"]["probe_every"] = 0;
  const auto r = train::Trainer(cfg, false, true).run();
  INFO("unigram entropy " << unigram << ", bigram conditional entropy " << bigram << " nats/byte; validation loss "
                           << r.last_val_loss);
  WARN("tinyshakespeare: validation loss " << r.last_val_loss << " nats/byte (bigram entropy " << bigram << ")");
  CHECK(r.last_val_loss > 0);
  CHECK(r.last_val_loss < bigram);
  fs::remove_all(dir);
}
