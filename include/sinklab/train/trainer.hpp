#pragma once
// The pretraining loop behind `sinklab-pretrain`: data preparation, model, AdamW + schedule + clipping, gradient
// accumulation, metrics.jsonl, periodic validation and sink probes, atomic checkpoints, and exact resume (the
// model, optimiser moments, step and sampler position are all restored, and every op is deterministic for any
// thread count, so a resumed run reproduces the uninterrupted one bit for bit).
#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sinklab/data.hpp"
#include "sinklab/io.hpp"
#include "sinklab/nn/llama.hpp"
#include "sinklab/optim.hpp"
#include "sinklab/probe/backcopy.hpp"
#include "sinklab/probe/summary.hpp"
#include "sinklab/train/checkpoint.hpp"
#include "sinklab/train/config.hpp"
#include "sinklab/train/data_setup.hpp"

namespace sinklab::train {

namespace fs = std::filesystem;

// Set by SIGINT/SIGTERM; the loop saves a checkpoint at the next step boundary and returns.
inline std::atomic<bool>& stop_requested() {
  static std::atomic<bool> flag{false};
  return flag;
}

struct TrainResult {
  int64_t steps_done = 0;
  double last_loss = 0, last_val_loss = -1;
  nlohmann::json last_probe;  // the last probe record (empty when probes are off)
  bool interrupted = false;
};

class Trainer {
 public:
  using T = float;

  // cfg: a resolved config (load_config). resume: continue from run_dir's latest checkpoint.
  Trainer(io::Json cfg, bool resume, bool quiet = false) : cfg_(std::move(cfg)), quiet_(quiet) {
    run_dir_ = cfg_["run_dir"].get<std::string>();
    const auto& tr = cfg_["train"];
    SINKLAB_CHECK(tr["device"] == "cpu", "train.device: '", tr["device"].get<std::string>(),
                  "' is not available in this build (cpu)");
    SINKLAB_CHECK(tr["dtype"] == "float32", "train.dtype: only float32 is supported on the CPU");
    set_num_threads(tr["threads"].get<int>());
    fs::create_directories(run_dir_);
    data_ = load_data(cfg_, run_dir_);
    nn::ModelConfig mc = nn::model_config_from_json(cfg_["model"]);
    if (data_.vocab_size > 0)
      SINKLAB_CHECK(mc.vocab_size >= data_.vocab_size, "model.vocab_size ", mc.vocab_size,
                    " is smaller than the tokenizer's vocabulary (", data_.vocab_size, ")");
    SINKLAB_CHECK(tr["seq_len"].get<int64_t>() <= mc.max_seq_len, "train.seq_len ", tr["seq_len"].get<int64_t>(),
                  " exceeds model.max_seq_len ", mc.max_seq_len);
    model_ = std::make_unique<nn::LlamaModel<T>>(mc);
    params_ = model_->parameters();
    const auto& o = cfg_["optim"];
    SINKLAB_CHECK(o["decay"] == "all" || o["decay"] == "matrices", "optim.decay: expected all or matrices");
    opt_ = std::make_unique<optim::AdamW<T>>(
        params_, optim::AdamWConfig{o["beta1"].get<double>(), o["beta2"].get<double>(), o["eps"].get<double>(),
                                    o["weight_decay"].get<double>(), o["decay"] == "matrices"});
    sched_ = {optim::Schedule::parse(o["schedule"].get<std::string>()), o["lr"].get<double>(), o["min_lr"].get<double>(),
              o["warmup"].get<int64_t>(), tr["steps"].get<int64_t>()};
    const int64_t accum = tr["grad_accum"].get<int64_t>(), batch = tr["batch_size"].get<int64_t>();
    SINKLAB_CHECK(accum >= 1 && batch % accum == 0, "train.batch_size (", batch, ") must be a multiple of train.grad_accum (",
                  accum, ")");
    sampler_ = data_.training_batches(batch / accum, tr["seq_len"].get<int64_t>(), tr["seed"].get<uint64_t>());
    const auto& d = cfg_["data"];
    if (d["random_tokens"].size() == 2)
      random_tokens_ = data::RandomTokens{d["random_tokens"][0].get<int64_t>(), d["random_tokens"][1].get<int64_t>(),
                                          static_cast<int32_t>(mc.vocab_size), tr["seed"].get<uint64_t>()};
    if (d["fixed_token_pos"].get<int64_t>() >= 0)
      fixed_token_ = data::FixedToken{d["fixed_token_pos"].get<int64_t>(), d["fixed_token_id"].get<int32_t>()};
    if (d["prefix_lm"].get<int64_t>() > 0) prefix_mask_ = data::PrefixLmMask{d["prefix_lm"].get<int64_t>()};

    if (resume) {
      const fs::path latest = latest_checkpoint();
      SINKLAB_CHECK(!latest.empty(), run_dir_.string(), ": nothing to resume (no checkpoints/latest)");
      load_model_tensors(params_, latest / "model.safetensors");
      const TrainerState st = load_trainer_state(latest, *opt_);
      step_ = st.step;
      sampler_->load_state_json(st.sampler);
      io::truncate_metrics_after(run_dir_ / "metrics.jsonl", step_);
      log("resumed from " + latest.string() + " at step " + std::to_string(step_));
    } else {
      fs::remove(run_dir_ / "metrics.jsonl");
    }
    io::write_file_atomic(run_dir_ / "config.json", cfg_.dump(2) + "\n");
    write_tokenizer_note(run_dir_);
  }

  const nn::LlamaModel<T>& model() const { return *model_; }
  int64_t step() const { return step_; }

  // Mean validation loss over log.eval_batches batches taken in order (the same batches every time).
  double validate() {
    autograd::NoGradGuard ng;
    const int64_t B = cfg_["train"]["batch_size"].get<int64_t>() / cfg_["train"]["grad_accum"].get<int64_t>();
    const int64_t n = std::min<int64_t>(cfg_["log"]["eval_batches"].get<int64_t>(), data_.val->num_blocks() / B);
    if (n <= 0) return -1;
    data::BatchSampler vs(*data_.val, B, 0, false);
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += double(loss_on(vs.next()).item());
    return sum / double(n);
  }

  // Probe on the first log.probe_samples validation blocks without padding, truncated to log.probe_seq_len
  // tokens: the summary of probe/summary.hpp, plus the task's own measures for Bigram-Backcopy. Empty when no
  // validation block qualifies.
  nlohmann::json probe() const {
    const int64_t T_ = std::min<int64_t>(cfg_["log"]["probe_seq_len"].get<int64_t>(), data_.val->seq_len());
    const int64_t n = cfg_["log"]["probe_samples"].get<int64_t>();
    std::vector<std::vector<int32_t>> seqs;
    for (int64_t i = 0; i < data_.val->num_blocks() && int64_t(seqs.size()) < n; ++i) {
      auto b = data_.val->block(i);
      if (std::find(b.begin(), b.begin() + T_ + 1, data::kIgnoreIndex) == b.begin() + T_ + 1)
        seqs.emplace_back(b.begin(), b.begin() + T_ + 1);
    }
    if (seqs.empty()) return {};
    probe::ProbeOptions<T> opt;
    opt.massive = false;
    opt.raw = true;
    std::optional<probe::BackcopyProbe> task_probe;
    if (data_.task) {
      task_probe.emplace(data_.task, seqs, model_->config().n_layers, model_->config().n_heads);
      opt.on_batch = task_probe->hook<T>();
    }
    auto rec = probe::summary_record(probe::run_probe(*model_, seqs, opt), cfg_["log"]["probe_eps"].get<double>());
    if (task_probe) rec.update(task_probe->metrics());
    return rec;
  }

  // Trains up to train.steps (or `max_steps` more steps when > 0, for tests that stop part-way).
  TrainResult run(int64_t max_steps = 0) {
    const auto& tr = cfg_["train"];
    const auto& lg = cfg_["log"];
    const int64_t total = tr["steps"].get<int64_t>(), accum = tr["grad_accum"].get<int64_t>();
    const int64_t stop_at = max_steps > 0 ? std::min(total, step_ + max_steps) : total;
    const int64_t every = std::max<int64_t>(1, lg["every"].get<int64_t>());
    const int64_t eval_every = lg["eval_every"].get<int64_t>(), ckpt_every = lg["checkpoint_every"].get<int64_t>();
    const int64_t probe_every = lg["probe_every"].get<int64_t>();
    const int64_t tokens_per_step = tr["batch_size"].get<int64_t>() * tr["seq_len"].get<int64_t>();
    io::MetricsWriter metrics(run_dir_ / "metrics.jsonl");
    io::Progress progress(total);
    TrainResult res;
    auto t0 = std::chrono::steady_clock::now();
    int64_t tokens_since = 0;
    const int64_t first_step = step_;  // the progress line's rate counts only the tokens of this process
    while (step_ < stop_at) {
      if (stop_requested()) {
        res.interrupted = true;
        break;
      }
      const double lr = sched_.at(step_);
      for (auto& p : params_) p.var.zero_grad();
      double loss_sum = 0;
      for (int64_t micro = 0; micro < accum; ++micro) {
        data::Batch b = sampler_->next();
        auto loss = loss_on(b);
        loss_sum += double(loss.item());
        (accum > 1 ? autograd::mul_scalar(loss, T(1.0 / double(accum))) : loss).backward();
      }
      const double grad_norm = optim::clip_grad_norm(params_, cfg_["optim"]["clip"].get<double>());
      opt_->step(lr);
      ++step_;
      tokens_since += tokens_per_step;
      res.last_loss = loss_sum / double(accum);
      progress.update(step_, res.last_loss, (step_ - first_step) * tokens_per_step);
      nlohmann::json rec;
      const bool log_now = step_ % every == 0 || step_ == total;
      if (log_now) {
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        rec = {{"step", step_},   {"tokens", step_ * tokens_per_step}, {"loss", res.last_loss}, {"lr", lr},
               {"grad_norm", grad_norm}, {"tokens_per_s", secs > 0 ? double(tokens_since) / secs : 0.0}};
        t0 = std::chrono::steady_clock::now();
        tokens_since = 0;
      }
      if (eval_every > 0 && (step_ % eval_every == 0 || step_ == total)) {
        res.last_val_loss = validate();
        rec["step"] = step_;
        rec["val_loss"] = res.last_val_loss;
      }
      // No validation block, no probe (rather than an error that ends the run without a checkpoint).
      if (probe_every > 0 && (step_ % probe_every == 0 || step_ == total)) {
        const auto pr = probe();
        if (!pr.empty()) {
          rec["step"] = step_;
          rec.update(pr);
          res.last_probe = pr;
        }
      }
      if (!rec.is_null()) metrics.write(rec);
      if (ckpt_every > 0 && step_ % ckpt_every == 0 && step_ < total) checkpoint();
    }
    progress.finish();
    checkpoint();
    if (step_ >= total) {
      save_checkpoint<T>(run_dir_ / "final", *model_, nullptr, {});
      write_tokenizer_note(run_dir_ / "final");
      log("finished " + std::to_string(step_) + " steps; final model in " + (run_dir_ / "final").string());
    } else if (res.interrupted) {
      log("interrupted at step " + std::to_string(step_) + "; continue with --resume " + run_dir_.string());
    }
    res.steps_done = step_;
    return res;
  }

  void checkpoint() {
    const fs::path dir = run_dir_ / "checkpoints" / ("step_" + std::to_string(step_));
    save_checkpoint<T>(dir, *model_, opt_.get(), {step_, sampler_->state_json(), cfg_});
    write_tokenizer_note(dir);
    io::write_file_atomic(run_dir_ / "checkpoints" / "latest", dir.filename().string() + "\n");
    prune_checkpoints();
  }

 private:
  autograd::Var<T> loss_on(data::Batch b) const {
    if (random_tokens_) (*random_tokens_)(b);
    if (fixed_token_) (*fixed_token_)(b);
    if (prefix_mask_) (*prefix_mask_)(b);
    const Tensor<int32_t> in = Tensor<int32_t>::from({b.batch_size, b.seq_len}, b.inputs);
    const Tensor<int32_t> tg = Tensor<int32_t>::from({b.batch_size, b.seq_len}, b.targets);
    return model_->loss(in, tg);
  }

  fs::path latest_checkpoint() const {
    const fs::path f = run_dir_ / "checkpoints" / "latest";
    if (!fs::exists(f)) return {};
    std::string name = io::read_text_file(f);
    while (!name.empty() && (name.back() == '\n' || name.back() == '\r')) name.pop_back();
    const fs::path dir = run_dir_ / "checkpoints" / name;
    SINKLAB_CHECK(fs::exists(dir / "trainer_state.safetensors"), f.string(), " points at '", name,
                  "', which is not a complete checkpoint");
    return dir;
  }

  void prune_checkpoints() {
    const int64_t keep = cfg_["log"]["keep_checkpoints"].get<int64_t>();
    if (keep <= 0) return;
    std::vector<std::pair<int64_t, fs::path>> found;
    for (const auto& e : fs::directory_iterator(run_dir_ / "checkpoints")) {
      const std::string n = e.path().filename().string();
      if (e.is_directory() && n.rfind("step_", 0) == 0 && n.find('.') == std::string::npos)
        found.emplace_back(std::stoll(n.substr(5)), e.path());
    }
    std::sort(found.begin(), found.end());
    for (std::size_t i = 0; i + keep < found.size(); ++i) fs::remove_all(found[i].second);
  }

  void write_tokenizer_note(const fs::path& dir) const {
    io::write_file_atomic(dir / "tokenizer.txt", data_.tokenizer + "\n");
  }

  void log(const std::string& s) const {
    if (!quiet_) std::cerr << "sinklab-pretrain: " << s << "\n";
  }

  io::Json cfg_;
  bool quiet_;
  fs::path run_dir_;
  DataSplits data_;
  std::unique_ptr<nn::LlamaModel<T>> model_;
  nn::ParamList<T> params_;
  std::unique_ptr<optim::AdamW<T>> opt_;
  optim::Schedule sched_;
  std::unique_ptr<data::BatchSource> sampler_;
  std::optional<data::RandomTokens> random_tokens_;
  std::optional<data::FixedToken> fixed_token_;
  std::optional<data::PrefixLmMask> prefix_mask_;
  int64_t step_ = 0;
};

}  // namespace sinklab::train
