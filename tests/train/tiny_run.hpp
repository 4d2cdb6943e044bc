#pragma once
// A throwaway run directory and corpus for trainer tests.
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "sinklab/train/trainer.hpp"

namespace tiny {

namespace fs = std::filesystem;

inline fs::path fresh_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("sinklab_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

inline fs::path corpus(const fs::path& dir) {
  const fs::path f = dir / "corpus.txt";
  std::ofstream os(f);
  const char* words[] = {"the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "far", "away", "home"};
  std::mt19937 rng(5);
  for (int i = 0; i < 6000; ++i) os << words[rng() % 12] << (i % 9 == 8 ? ".\n" : " ");
  return f;
}

// Every regular file under `dir` (relative path -> bytes), to show that a failed command changed nothing. The lock
// file is left out: any trainer that opens the directory creates it and writes its pid there (run_dir.hpp).
inline std::map<std::string, std::vector<std::byte>> snapshot(const fs::path& dir) {
  std::map<std::string, std::vector<std::byte>> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file() && e.path().filename() != ".lock")
      out[fs::relative(e.path(), dir).string()] = sinklab::io::read_file(e.path());
  return out;
}

inline sinklab::io::Json config(const fs::path& run, const fs::path& corpus, int steps) {
  auto c = sinklab::train::default_config();
  c["run_dir"] = run.string();
  c["model"]["vocab_size"] = 258;
  c["model"]["d_model"] = 32;
  c["model"]["n_layers"] = 2;
  c["model"]["n_heads"] = 2;
  c["model"]["max_seq_len"] = 32;
  c["data"]["train"] = {corpus.string()};
  c["train"]["steps"] = steps;
  c["train"]["batch_size"] = 4;
  c["train"]["seq_len"] = 16;
  c["optim"]["warmup"] = 2;
  c["optim"]["lr"] = 3e-3;
  c["log"]["every"] = 1;
  c["log"]["eval_every"] = 3;
  c["log"]["eval_batches"] = 2;
  c["log"]["probe_every"] = 3;
  c["log"]["probe_samples"] = 4;
  c["log"]["probe_seq_len"] = 16;
  return c;
}

}  // namespace tiny
