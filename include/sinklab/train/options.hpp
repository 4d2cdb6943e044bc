#pragma once
// The pretrain config: defaults, documentation of every key (`sinklab-pretrain --help` prints it) and parsing into
// typed options. Unknown keys and bad values are errors that name the key (io::check_keys suggests the nearest).
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sinklab/nn/config.hpp"
#include "sinklab/optim/adamw.hpp"
#include "sinklab/optim/schedule.hpp"

namespace sinklab::train {

struct KeyDoc {
  const char* key;
  const char* doc;
};

// Every key with its meaning; the defaults come from default_config().
inline const std::vector<KeyDoc>& key_docs() {
  static const std::vector<KeyDoc> docs = {
      {"base", "path of a config this one extends (deep-merged; relative to this file)"},
      {"run_dir", "directory for config.json, metrics.jsonl, checkpoints/ and final/"},
      {"model.vocab_size", "vocabulary size (byte tokenizer: 258 = 256 bytes + BOS + EOS)"},
      {"model.d_model", "hidden width"},
      {"model.n_layers", "number of blocks"},
      {"model.n_heads", "query heads"},
      {"model.n_kv_heads", "key/value heads for grouped-query attention (0 = n_heads)"},
      {"model.head_dim", "per-head dimension (0 = d_model / n_heads)"},
      {"model.d_ff", "FFN inner width (0 = 8/3 d_model rounded to 64 for gated FFNs, 4 d_model otherwise)"},
      {"model.max_seq_len", "longest sequence (learned/sinusoidal positions are sized by it)"},
      {"model.ffn", "swiglu | reglu | geglu | relu | gelu | swish"},
      {"model.norm", "rmsnorm | layernorm"},
      {"model.placement", "pre (LLaMA) | post (post-LN)"},
      {"model.norm_eps", "epsilon of every norm layer"},
      {"model.pos", "rope | nope | sinusoidal | learned | alibi | relative_bucket"},
      {"model.rope_base", "RoPE base θ"},
      {"model.rope_interleaved", "rotate pairs (2i, 2i+1) as llama2.c/Meta instead of halves as Hugging Face"},
      {"model.tie_embeddings", "share the LM head with the token embedding"},
      {"model.bias", "biases in attention and MLP projections"},
      {"model.attention", "attention variant (sinklab-probe --list-variants)"},
      {"model.window", "causal | sliding | prefix | full"},
      {"model.window_size", "sliding window w (query i sees keys i-w+1..i)"},
      {"model.prefix_len", "prefix-LM p (the first p keys are visible to every query)"},
      {"model.slot", "none | k | kv | v: the sink paper's learnable key/value bias slot"},
      {"model.init", "tinyllama | pytorch initialisation"},
      {"model.seed", "initialisation seed"},
      {"data.format", "text | jsonl | llmc | litpkds | tokens (raw uint16 nanoGPT .bin) | bigram_backcopy (generated)"},
      {"data.train", "file, directory or list of files to train on"},
      {"data.val", "validation files (empty: hold out data.val_fraction of the training tokens)"},
      {"data.val_fraction", "fraction of tokens held out for validation when data.val is empty"},
      {"data.tokenizer", "byte | sentencepiece (text/jsonl formats)"},
      {"data.sp_model", "existing SentencePiece model (empty: train one on data.train into run_dir)"},
      {"data.sp_vocab_size", "vocabulary size when training a SentencePiece model"},
      {"data.sp_type", "bpe | unigram"},
      {"data.strip_gutenberg", "keep only the text between Project Gutenberg's START/END markers"},
      {"data.cache_dir", "where prepared token files are cached (empty: run_dir/cache)"},
      {"data.random_tokens", "[a, b]: replace positions a..b-1 of every sample by random tokens (sink paper)"},
      {"data.fixed_token_pos", "position to overwrite with data.fixed_token_id (-1: off)"},
      {"data.fixed_token_id", "token written at data.fixed_token_pos"},
      {"data.prefix_lm", "p > 0: no loss on the first p targets (prefix-LM objective)"},
      {"data.windows", "packed | bos (every window is BOS + seq_len tokens) | documents (windows start at documents)"},
      {"data.bos_id", "BOS id for data.windows (-1: the tokenizer's; token files must set it)"},
      {"data.eos_id", "document separator for data.windows = documents (-1: the tokenizer's)"},
      {"data.backcopy.vocab", "Bigram-Backcopy: content tokens 0..vocab-1; BOS = vocab (model.vocab_size >= vocab + 1)"},
      {"data.backcopy.triggers", "Bigram-Backcopy: trigger tokens (ids 0..triggers-1); after one, the next token copies "
                                 "the token before it"},
      {"data.backcopy.trigger_mass", "Bigram-Backcopy, random table: share of every bigram row on the triggers"},
      {"data.backcopy.support", "Bigram-Backcopy, random table: non-trigger successors per bigram row"},
      {"data.backcopy.table", "random (seeded sparse rows) | corpus (byte bigrams of data.backcopy.corpus)"},
      {"data.backcopy.corpus", "text file for table = corpus (its most frequent bytes are the tokens)"},
      {"data.backcopy.seed", "seed of the task: bigram table and validation sequences (train.seed drives training)"},
      {"data.backcopy.val_sequences", "held-out sequences for validation and probes"},
      {"train.steps", "optimiser steps"},
      {"train.batch_size", "sequences per optimiser step, over all ranks (split over grad_accum micro-batches)"},
      {"train.seq_len", "tokens per sequence"},
      {"train.grad_accum", "micro-batches per step, over all ranks: under mpirun -np N each rank takes grad_accum / N "
                           "of them (N must divide it), and the run is the same, bit for bit, for every N"},
      {"train.seed", "data-order seed"},
      {"train.threads", "CPU threads per rank (0 = all cores, shared evenly by the ranks on a node)"},
      {"train.zero", "0 | 1: ZeRO stage 1 under mpirun: each rank keeps AdamW's moments for its shard of the weights "
                     "only (the same results as 0, with less memory per rank)"},
      {"train.collective_timeout", "seconds a rank waits in one MPI collective before it gives up and ends the job "
                                   "(0 = wait forever); a guard against a rank that died or hangs"},
      {"train.device", "cpu | cuda (cuda: with sinklab-pretrain-cuda; one process, fp32)"},
      {"train.dtype", "float32"},
      {"train.skip_nonfinite", "steps whose loss or gradient norm is NaN/Inf that may be skipped (no update; logged as "
                               "\"skipped\": true); one more stops the run with exit status 3 (0 = stop at the first)"},
      {"optim.lr", "peak learning rate"},
      {"optim.min_lr", "final learning rate of the cosine schedule"},
      {"optim.schedule", "constant | cosine | linear (after linear warmup)"},
      {"optim.warmup", "warmup steps"},
      {"optim.beta1", "AdamW β1"},
      {"optim.beta2", "AdamW β2"},
      {"optim.eps", "AdamW ε"},
      {"optim.weight_decay", "decoupled weight decay λ"},
      {"optim.decay", "all | matrices: which parameters weight decay applies to"},
      {"optim.clip", "global gradient-norm clip (0 = off)"},
      {"log.every", "steps between metrics lines"},
      {"log.eval_every", "steps between validation evaluations (0 = off)"},
      {"log.eval_batches", "validation batches per evaluation"},
      {"log.checkpoint_every", "steps between checkpoints (0 = only at the end)"},
      {"log.probe_every", "steps between sink probes logged to metrics.jsonl (0 = off)"},
      {"log.probe_samples", "sequences per sink probe"},
      {"log.probe_seq_len", "tokens per probe sequence (the sink paper uses 64)"},
      {"log.probe_eps", "threshold ε of Sink_k^ε"},
      {"log.keep_checkpoints", "how many step checkpoints to keep (0 = all)"},
  };
  return docs;
}

inline nlohmann::json default_config() {
  nlohmann::json model = nn::to_json(nn::ModelConfig{});
  return {
      {"base", ""},
      {"run_dir", "runs/default"},
      {"model", model},
      {"data",
       {{"format", "text"}, {"train", nlohmann::json::array()}, {"val", nlohmann::json::array()}, {"val_fraction", 0.05},
        {"tokenizer", "byte"}, {"sp_model", ""}, {"sp_vocab_size", 4096}, {"sp_type", "bpe"},
        {"strip_gutenberg", false}, {"cache_dir", ""}, {"random_tokens", nlohmann::json::array()},
        {"fixed_token_pos", -1}, {"fixed_token_id", 0}, {"prefix_lm", 0}, {"windows", "packed"}, {"bos_id", -1},
        {"eos_id", -1},
        {"backcopy",
         {{"vocab", 64}, {"triggers", 3}, {"trigger_mass", 0.3}, {"support", 8}, {"table", "random"}, {"corpus", ""},
          {"seed", 1}, {"val_sequences", 256}}}}},
      {"train",
       {{"steps", 1000}, {"batch_size", 16}, {"seq_len", 64}, {"grad_accum", 1}, {"seed", 1}, {"threads", 0}, {"zero", 0},
        {"collective_timeout", 0.0}, {"device", "cpu"}, {"dtype", "float32"}, {"skip_nonfinite", 0}}},
      {"optim",
       {{"lr", 4e-4}, {"min_lr", 0.0}, {"schedule", "constant"}, {"warmup", 100}, {"beta1", 0.9}, {"beta2", 0.95},
        {"eps", 1e-8}, {"weight_decay", 0.1}, {"decay", "all"}, {"clip", 1.0}}},
      {"log",
       {{"every", 10}, {"eval_every", 100}, {"eval_batches", 10}, {"checkpoint_every", 0}, {"probe_every", 0},
        {"probe_samples", 16}, {"probe_seq_len", 64}, {"probe_eps", 0.3}, {"keep_checkpoints", 2}}},
  };
}

}  // namespace sinklab::train
