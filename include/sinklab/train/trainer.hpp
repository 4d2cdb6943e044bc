#pragma once
// The pretraining loop behind `sinklab-pretrain`: data preparation, model, AdamW + schedule + clipping, gradient
// accumulation, metrics.jsonl, periodic validation and sink probes, atomic checkpoints, and exact resume (the
// model, optimiser moments, step and sampler position are all restored, and every op is deterministic for any
// thread count, so a resumed run reproduces the uninterrupted one bit for bit). The trainer owns its run directory
// while it lives (run_dir.hpp), checks the whole config before touching it (validate.hpp), and never applies an
// update or writes a checkpoint from a NaN/Inf loss, gradient or weight (train.skip_nonfinite). Given a
// dist::Communicator of several ranks it trains data-parallel, bit-identical to one process: note [global batch].
//
// Note [global batch]: a step's global batch is what one process with grad_accum = A draws: A micro-batches of
// batch_size / A sequences, taken from the sampler one after the other. On N ranks (N divides A), micro-batch m goes
// to rank m mod N: round j = 0 .. A/N - 1 gives ranks 0..N-1 the micro-batches jN .. jN+N-1, each rank skips the
// others' (BatchSource::skip), and every rank's sampler state is the whole run's. One process adds the micro-batches'
// gradients in the order m = 0, 1, ..., A-1 (note [micro-batch sum]); dist::DataParallel folds round j's into the
// sharded accumulator in rank order, which is the same order, so the sums are the same bits (communicator.hpp).
// The loss, the gradient norm, clipping and AdamW follow suit (data_parallel.hpp), and the run is the single
// process's whatever N is: a checkpoint resumes on any N that divides A.
//
// Note [micro-batch sum]: with A > 1 each micro-batch's gradient is computed whole (backward into cleared .grad) and
// then added to the sum of the earlier ones, rather than letting backward add each contribution straight into the
// sum. The two agree bit for bit for a parameter that receives one contribution per backward; for one that receives
// several (a tied embedding: the lookup and the LM head) only the first is what a data-parallel reduction can
// reproduce, since a rank sends its micro-batch's gradient whole.
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "sinklab/data.hpp"
#include "sinklab/dist/communicator.hpp"
#include "sinklab/dist/data_parallel.hpp"
#include "sinklab/dist/same_config.hpp"
#include "sinklab/io.hpp"
#include "sinklab/nn/llama.hpp"
#include "sinklab/optim.hpp"
#include "sinklab/probe/backcopy.hpp"
#include "sinklab/probe/summary.hpp"
#include "sinklab/train/checkpoint.hpp"
#include "sinklab/train/config.hpp"
#include "sinklab/train/data_setup.hpp"
#include "sinklab/train/host_mirror.hpp"
#include "sinklab/train/run_dir.hpp"
#include "sinklab/train/validate.hpp"

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
  int64_t skipped_steps = 0;  // non-finite steps skipped (train.skip_nonfinite), over the whole run
  std::string nonfinite;      // why the run stopped on a NaN/Inf (empty: it did not); sinklab-pretrain exits 3
};

// What a Trainer does with a run already in its directory (run_dir.hpp: kRunFiles).
enum class StartMode {
  fresh,      // there must be none: the error names --resume and --overwrite
  resume,     // continue from the newest intact checkpoint (from step 0 when none was ever completed)
  overwrite,  // replace it once the new run is known to be valid (note [replacing a run] in run_dir.hpp)
};

// D = Cpu (Trainer) or Cuda: Note [trainer on a device] in train/host_mirror.hpp.
template <class D>
class TrainerT {
 public:
  using T = float;
  static constexpr bool kCpu = std::is_same_v<D, Cpu>;
  // Test hook: runs after the backward of step `step` (1-based), before the gradients are checked and applied.
  using GradientHook = std::function<void(int64_t step, nn::ParamList<T, D>& params)>;

  // cfg: a resolved config (load_config). Everything that can be checked is checked before anything in run_dir
  // is created, moved or deleted: the config's values, then (holding the directory's lock) the data and the model.
  // comm: the ranks of a data-parallel run (null or one rank: a plain process). Rank 0 alone owns the run
  // directory (its lock, config.json, metrics.jsonl, checkpoints); every stage below fails on all ranks together
  // when it fails on one (dist::agree), so a bad launch ends with the same error everywhere instead of a hang.
  TrainerT(io::Json cfg, StartMode mode, bool quiet = false, dist::Communicator* comm = nullptr)
      : cfg_(std::move(cfg)), mode_(mode), quiet_(quiet), comm_(comm && comm->size() > 1 ? comm : nullptr) {
    everywhere("config", [&] {
      validate_config(cfg_);
      const std::string device = cfg_["train"]["device"].get<std::string>();
      SINKLAB_CHECK(device == D::name, "train.device: '", device, "' given to a ", D::name, " trainer");
      if constexpr (!kCpu)
        SINKLAB_CHECK(!comm_, "train.device: 'cuda' trains in one process so far; data-parallel GPU ranks (NCCL) "
                              "are not there yet");
      if (comm_) validate_ranks(cfg_, comm_->size());
    });
    if (comm_) dist::check_same_config(*comm_, cfg_);
    run_dir_ = cfg_["run_dir"].get<std::string>();
    on_rank0("run directory", [&] {
      lock_ = std::make_unique<RunDirLock>(run_dir_);
      check_previous_run();
    });
    const auto& tr = cfg_["train"];
    set_num_threads(threads_per_rank(tr["threads"].get<int>()));
    // Rank 0 first: a tokenizer or token cache that it writes is then only read by the others.
    on_rank0("data", [&] { data_ = load_data(cfg_, run_dir_); });
    if (comm_) everywhere("data", [&] {
      if (comm_->rank() != 0) data_ = load_data(cfg_, run_dir_);
    });
    everywhere("model", [&] { build(); });
    on_rank0("run directory", [&] { open_run_dir(); });
    if (comm_) share_start();
  }

  // The bool form: resume, or a fresh start.
  TrainerT(io::Json cfg, bool resume, bool quiet = false)
      : TrainerT(std::move(cfg), resume ? StartMode::resume : StartMode::fresh, quiet) {}

  const nn::LlamaModel<T, D>& model() const { return *model_; }
  int64_t step() const { return step_; }
  // The checkpoint this run resumed from (empty for a fresh start or a restart from step 0).
  const fs::path& resumed_from() const { return resumed_from_; }
  void set_gradient_hook(GradientHook hook) { gradient_hook_ = std::move(hook); }

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
    auto rec = probe::summary_record(probe::run_probe(host_model(), seqs, opt), cfg_["log"]["probe_eps"].get<double>());
    if (task_probe) rec.update(task_probe->metrics());
    return rec;
  }

  // Trains up to train.steps (or `max_steps` more steps when > 0, for tests that stop part-way). A NaN/Inf loss or
  // gradient norm skips the step (no update, the data position still advances) while train.skip_nonfinite allows,
  // and otherwise stops the run without applying it or writing a checkpoint: see TrainResult::nonfinite.
  TrainResult run(int64_t max_steps = 0) {
    const auto& tr = cfg_["train"];
    const auto& lg = cfg_["log"];
    const int64_t total = tr["steps"].get<int64_t>(), accum = tr["grad_accum"].get<int64_t>();
    const int64_t stop_at = max_steps > 0 ? std::min(total, step_ + max_steps) : total;
    const int64_t every = std::max<int64_t>(1, lg["every"].get<int64_t>());
    const int64_t eval_every = lg["eval_every"].get<int64_t>(), ckpt_every = lg["checkpoint_every"].get<int64_t>();
    const int64_t probe_every = lg["probe_every"].get<int64_t>();
    const int64_t tokens_per_step = tr["batch_size"].get<int64_t>() * tr["seq_len"].get<int64_t>();
    const int64_t skip_budget = tr["skip_nonfinite"].get<int64_t>();
    const double clip = cfg_["optim"]["clip"].get<double>();
    std::optional<io::MetricsWriter> metrics;  // rank 0 writes the run's files
    std::optional<io::Progress> progress;
    if (rank0()) metrics.emplace(run_dir_ / "metrics.jsonl"), progress.emplace(total);
    TrainResult res;
    auto t0 = std::chrono::steady_clock::now();
    int64_t tokens_since = 0;
    const int64_t first_step = step_;  // the progress line's rate counts only the tokens of this process
    while (step_ < stop_at) {
      // A signal to any rank stops every rank at the same step (SIGINT/SIGTERM reach one process, or all).
      if (comm_ ? comm_->any(stop_requested().load(), "stop flag") : stop_requested().load()) {
        res.interrupted = true;
        break;
      }
      const int64_t n = step_ + 1;  // this step, numbered as in metrics.jsonl
      const double lr = sched_.at(step_);
      if (dp_) {
        res.last_loss = accumulate_distributed(accum);
      } else {
        res.last_loss = accumulate(accum);
        if (gradient_hook_) gradient_hook_(n, params_);
      }
      const double grad_norm = dp_ ? dp_->grad_norm() : optim::global_grad_norm(params_);
      const NonFinite bad = check_step(res.last_loss, grad_norm);
      if (bad.what.empty()) {
        if (dp_ && dp_->zero() == 1) {
          dp_->sharded_step(lr, grad_norm, clip);
        } else {
          optim::clip_grads_to(params_, grad_norm, clip);
          opt_->step(lr);
        }
      }
      tokens_since += tokens_per_step;
      nlohmann::json rec;
      if (n % every == 0 || n == total || !bad.what.empty()) {  // a non-finite step is always logged
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        rec = {{"step", n},   {"tokens", n * tokens_per_step}, {"loss", res.last_loss}, {"lr", lr},
               {"grad_norm", grad_norm}, {"tokens_per_s", secs > 0 ? double(tokens_since) / secs : 0.0}};
        if (dp_) rec["comm_s"] = dp_->take_comm_seconds();  // rank 0's time in gradient and weight collectives
        t0 = std::chrono::steady_clock::now();
        tokens_since = 0;
      }
      if (!bad.what.empty()) {
        rec["skipped"] = true;
        rec["nonfinite"] = bad.what;
        if (skipped_ == skip_budget) {
          if (metrics) metrics->write(rec);
          res.nonfinite = "step " + std::to_string(n) + ": " + bad.message + "; " + budget_note(skip_budget) +
                          ". Stopped without applying it or writing a checkpoint" + resume_hint();
          break;
        }
        ++skipped_;
        warn("step " + std::to_string(n) + ": " + bad.message + "; skipped (no update), " + std::to_string(skipped_) +
             " of train.skip_nonfinite = " + std::to_string(skip_budget));
      }
      step_ = n;
      if (progress) progress->update(step_, res.last_loss, (step_ - first_step) * tokens_per_step);
      // Validation and probes: rank 0 alone (the others wait for it at the next step's stop flag).
      if (rank0() && eval_every > 0 && (step_ % eval_every == 0 || step_ == total)) {
        res.last_val_loss = validate();
        rec["step"] = step_;
        rec["val_loss"] = res.last_val_loss;
      }
      // No validation block, no probe (rather than an error that ends the run without a checkpoint).
      if (rank0() && probe_every > 0 && (step_ % probe_every == 0 || step_ == total)) {
        const auto pr = probe();
        if (!pr.empty()) {
          rec["step"] = step_;
          rec.update(pr);
          res.last_probe = pr;
        }
      }
      if (!rec.is_null() && metrics) metrics->write(rec);
      if (ckpt_every > 0 && step_ % ckpt_every == 0 && step_ < total && !checkpoint_if_finite(res)) break;
    }
    if (progress) progress->finish();
    res.skipped_steps = skipped_;
    res.steps_done = step_;
    if (!res.nonfinite.empty() || !checkpoint_if_finite(res)) return res;
    if (step_ >= total) {
      if (rank0())
        save_checkpoint<T>(run_dir_ / "final", host_model(), nullptr, {}, {{"tokenizer.txt", data_.tokenizer + "\n"}});
      log("finished " + std::to_string(step_) + " steps; final model in " + (run_dir_ / "final").string());
    } else if (res.interrupted) {
      log("interrupted at step " + std::to_string(step_) + "; continue with --resume " + run_dir_.string());
    }
    return res;
  }

  // Writes checkpoints/step_N and points `latest` at it; refuses non-finite weights (the old checkpoints stay).
  void checkpoint() {
    const std::string bad = first_nonfinite_weight();
    SINKLAB_CHECK(bad.empty(), "step ", step_, ": parameter '", bad, "' is not finite; no checkpoint written");
    write_checkpoint();
  }

 private:
  bool rank0() const { return !comm_ || comm_->rank() == 0; }

  // Runs `stage` on every rank; a failure on any rank fails all of them (dist::agree).
  template <class F>
  void everywhere(const char* what, F&& stage) {
    if (comm_)
      dist::agree(*comm_, what, stage);
    else
      stage();
  }
  template <class F>
  void on_rank0(const char* what, F&& stage) {
    everywhere(what, [&] {
      if (rank0()) stage();
    });
  }

  // train.threads, or (0) every core of the node shared evenly between the ranks on it.
  int threads_per_rank(int threads) const {
    if (threads > 0 || !comm_) return threads;
    return std::max(1, int(std::thread::hardware_concurrency()) / std::max(1, comm_->local_size()));
  }

  // The model, optimiser, schedule, sampler and transforms: the same on every rank.
  void build() {
    const auto& tr = cfg_["train"];
    nn::ModelConfig mc = nn::model_config_from_json(cfg_["model"]);
    if (data_.vocab_size > 0)
      SINKLAB_CHECK(mc.vocab_size >= data_.vocab_size, "model.vocab_size ", mc.vocab_size,
                    " is smaller than the tokenizer's vocabulary (", data_.vocab_size, ")");
    model_ = std::make_unique<nn::LlamaModel<T, D>>(mc);
    params_ = model_->parameters();
    const auto& o = cfg_["optim"];
    const optim::AdamWConfig adamw{o["beta1"].get<double>(), o["beta2"].get<double>(), o["eps"].get<double>(),
                                   o["weight_decay"].get<double>(), o["decay"] == "matrices"};
    const int zero = tr["zero"].get<int>();
    if (!comm_ || zero == 0) opt_ = std::make_unique<optim::AdamW<T, D>>(params_, adamw);
    if constexpr (kCpu) {
      if (comm_) dp_ = std::make_unique<dist::DataParallel>(*comm_, params_, zero, adamw);
    }
    sched_ = {optim::Schedule::parse(o["schedule"].get<std::string>()), o["lr"].get<double>(), o["min_lr"].get<double>(),
              o["warmup"].get<int64_t>(), tr["steps"].get<int64_t>()};
    const int64_t accum = tr["grad_accum"].get<int64_t>(), batch = tr["batch_size"].get<int64_t>();
    sampler_ = data_.training_batches(batch / accum, tr["seq_len"].get<int64_t>(), tr["seed"].get<uint64_t>());
    const auto& d = cfg_["data"];
    if (d["random_tokens"].size() == 2)
      random_tokens_ = data::RandomTokens{d["random_tokens"][0].get<int64_t>(), d["random_tokens"][1].get<int64_t>(),
                                          static_cast<int32_t>(mc.vocab_size), tr["seed"].get<uint64_t>()};
    if (d["fixed_token_pos"].get<int64_t>() >= 0)
      fixed_token_ = data::FixedToken{d["fixed_token_pos"].get<int64_t>(), d["fixed_token_id"].get<int32_t>()};
    if (d["prefix_lm"].get<int64_t>() > 0) prefix_mask_ = data::PrefixLmMask{d["prefix_lm"].get<int64_t>()};
  }

  // Valid, and the directory is ours: from here on the run directory changes (rank 0 only).
  void open_run_dir() {
    for (const auto& change : clean_up_after_dead_writers(run_dir_)) warn(change);
    if (mode_ == StartMode::resume) {
      resume();
    } else if (mode_ == StartMode::overwrite) {
      replaced_ = move_previous_run_aside(run_dir_);
      if (!replaced_.empty())
        log("moved the previous run to " + replaced_.string() + "; it is deleted at this run's first checkpoint");
    }
    for (const auto& old_run : replaced_runs(run_dir_))
      if (mode_ != StartMode::overwrite)
        warn(old_run.string() + " holds a run that an --overwrite run replaced but never reached a checkpoint: " +
             "move its files back to recover it, or delete it");
    io::write_file_atomic(run_dir_ / "config.json", cfg_.dump(2) + "\n");
    write_tokenizer_note(run_dir_);
  }

  // What rank 0 resumed from, given to every rank: step, skipped steps, sampler position, weights and moments.
  void share_start() {
    if constexpr (kCpu) share_start_cpu();
  }
  void share_start_cpu() {
    int64_t resumed = resumed_from_.empty() ? 0 : 1;
    comm_->broadcast_value(resumed, 0, "resume point");
    if (!resumed) return;
    comm_->broadcast_value(step_, 0, "resume point");
    comm_->broadcast_value(skipped_, 0, "resume point");
    std::string sampler = rank0() ? sampler_->state_json().dump() : std::string();
    comm_->broadcast_string(sampler, 0, "resume point");
    if (!rank0()) sampler_->load_state_json(nlohmann::json::parse(sampler));
    dp_->broadcast_weights(0);
    if (dp_->zero() == 1) {
      dp_->sharded_adamw()->load_moments(resume_opt_.get(), 0);
      resume_opt_.reset();
      return;
    }
    const auto& layout = dp_->layout();
    dist::AlignedFloats flat(std::size_t(layout.total()));
    for (auto* moments : {&opt_->exp_avg(), &opt_->exp_avg_sq()}) {
      if (rank0()) layout.pack(*moments, flat.data());
      comm_->broadcast_floats(flat.data(), layout.total(), 0);
      layout.unpack(flat.data(), *moments);
    }
    int64_t opt_step = opt_->step_count();
    comm_->broadcast_value(opt_step, 0, "resume point");
    opt_->set_step_count(opt_step);
  }

  // One micro-batch: forward, and backward of its loss / accum into the parameters' .grad. Returns the loss.
  float micro_step(data::Batch b, int64_t accum) {
    auto loss = loss_on(b);
    const float value = loss.item();
    (accum > 1 ? autograd::mul_scalar(loss, T(1.0 / double(accum))) : loss).backward();
    return value;
  }

  // One process: the step's gradient (note [micro-batch sum]) in .grad; returns the mean loss.
  double accumulate(int64_t accum) {
    for (auto& p : params_) p.var.zero_grad();
    std::vector<Tensor<T, D>> sum(accum > 1 ? params_.size() : 0);
    double loss_sum = 0;
    for (int64_t micro = 0; micro < accum; ++micro) {
      loss_sum += double(micro_step(sampler_->next(), accum));
      for (std::size_t i = 0; i < sum.size(); ++i) {
        auto& v = params_[i].var;
        if (!v.has_grad()) continue;
        if (!sum[i].defined())
          sum[i] = std::move(v.mutable_grad());
        else
          autograd::TensorOps<D>::add_into(sum[i], v.grad());
        v.zero_grad();
      }
    }
    for (std::size_t i = 0; i < sum.size(); ++i)
      if (sum[i].defined()) params_[i].var.mutable_grad() = std::move(sum[i]);
    return loss_sum / double(accum);
  }

  // Data parallel: this rank's micro-batches of each round (note [global batch]), reduced over the ranks.
  double accumulate_distributed(int64_t accum) {
    const int ranks = comm_->size(), me = comm_->rank();
    const int64_t rounds = accum / ranks;
    std::vector<float> losses;
    dp_->begin_step();
    for (int64_t j = 0; j < rounds; ++j) {
      for (int q = 0; q < me; ++q) sampler_->skip();
      losses.push_back(micro_step(sampler_->next(), accum));
      for (int q = me + 1; q < ranks; ++q) sampler_->skip();
      if (gradient_hook_ && j + 1 == rounds) gradient_hook_(step_ + 1, params_);  // this rank's last micro-batch
      dp_->reduce_round();
    }
    dp_->finish_reduction();
    return dp_->mean_loss(losses);
  }

  void write_checkpoint() {
    const TrainerState state{step_, sampler_->state_json(), cfg_, skipped_};
    const std::map<std::string, std::string> extra = {{"tokenizer.txt", data_.tokenizer + "\n"}};
    const fs::path dir = run_dir_ / "checkpoints" / ("step_" + std::to_string(step_));
    if constexpr (!kCpu) {
      mirror_.save(dir, model_->config(), params_, *opt_, state, extra);
    } else if (dp_ && dp_->zero() == 1) {  // the moments' shards come to rank 0 (a collective: every rank is here)
      const auto gathered = dp_->sharded_adamw()->gather_moments(params_, 0);
      if (!rank0()) return;
      save_checkpoint<T>(dir, *model_,
                         AdamWMoments<T>{params_, gathered->first, gathered->second, dp_->sharded_adamw()->step_count()},
                         state, extra);
    } else {
      if (!rank0()) return;
      save_checkpoint<T>(dir, *model_, opt_.get(), state, extra);
    }
    io::write_file_atomic(run_dir_ / "checkpoints" / "latest", dir.filename().string() + "\n");
    prune_checkpoints();
    if (mode_ == StartMode::overwrite && !replaced_runs(run_dir_).empty()) {
      delete_replaced_runs(run_dir_);  // the new run has a complete checkpoint: the replaced one may go
      replaced_.clear();
    }
  }

  struct NonFinite {
    std::string what;     // "loss" | "grad_norm"; empty when both are finite
    std::string message;  // "the loss is NaN", "the gradient norm is Inf (first non-finite gradient: 'x')"
  };

  static std::string describe(double v) { return std::isnan(v) ? "NaN" : v > 0 ? "Inf" : "-Inf"; }

  NonFinite check_step(double loss, double grad_norm) {
    if (!std::isfinite(loss)) return {"loss", "the loss is " + describe(loss)};
    if (std::isfinite(grad_norm)) return {};
    const std::string name = dp_ ? dp_->first_nonfinite_grad() : optim::first_nonfinite_grad(params_);
    return {"grad_norm", "the gradient norm is " + describe(grad_norm) +
                             (name.empty() ? " (every gradient is finite: their sum of squares overflowed)"
                                           : " (first non-finite gradient: '" + name + "')")};
  }

  static std::string budget_note(int64_t budget) {
    if (budget == 0) return "train.skip_nonfinite = 0 skips none";
    return "one more than train.skip_nonfinite = " + std::to_string(budget) + " allows";
  }

  // What the user can do after a non-finite stop, given what the directory holds.
  std::string resume_hint() const {
    const std::string fixes =
        " (--set optim.lr=... to lower the rate, --set train.skip_nonfinite=N to skip up to N such steps)";
    const fs::path latest = run_dir_ / "checkpoints" / "latest";
    if (fs::exists(latest)) {
      std::string name = io::read_text_file(latest);
      while (!name.empty() && (name.back() == '\n' || name.back() == '\r')) name.pop_back();
      return ". Earlier checkpoints are unchanged: --resume " + run_dir_.string() + " continues from " + name + fixes;
    }
    std::string out = ". This run has no checkpoint yet: start it again" + fixes;
    if (!replaced_.empty()) out += "; the run it replaces is still in " + replaced_.string();
    return out;
  }

  // The name of the first parameter holding a NaN or Inf (a finite update can still overflow), or empty.
  std::string first_nonfinite_weight() const {
    for (const auto& p : params_)
      if (!autograd::TensorOps<D>::all_finite(p.var.value())) return p.name;
    return {};
  }

  // checkpoint(), unless a weight is not finite: then records why in `res` and returns false.
  bool checkpoint_if_finite(TrainResult& res) {
    if (const std::string bad = first_nonfinite_weight(); !bad.empty()) {
      res.nonfinite = "step " + std::to_string(step_) + ": parameter '" + bad +
                      "' is not finite after the update. Stopped without writing a checkpoint" + resume_hint();
      return false;
    }
    write_checkpoint();
    return true;
  }

  // A fresh start needs an empty directory (of run files); a resume needs a run.
  void check_previous_run() const {
    const std::string found = previous_run_files(run_dir_);
    if (mode_ == StartMode::fresh)
      SINKLAB_CHECK(found.empty(), "run_dir '", run_dir_.string(), "' already holds a run (", found,
                    "); pass --resume ", run_dir_.string(), " to continue it or --overwrite to replace it");
    if (mode_ == StartMode::resume)
      SINKLAB_CHECK(!found.empty(), "run_dir '", run_dir_.string(),
                    "': nothing to resume (no config.json, metrics.jsonl, checkpoints/ or final/)");
  }

  // Continues from the newest intact checkpoint, saying which were refused and why. With none ever completed (a
  // run killed before or during its first checkpoint) there is nothing to lose: restart from step 0.
  void resume() {
    ResumePoint r;
    if constexpr (kCpu) {
      if (!opt_) resume_opt_ = std::make_unique<optim::AdamW<T>>(params_, optim::AdamWConfig{});  // ZeRO-1: moments
      optim::AdamW<T>& opt = opt_ ? *opt_ : *resume_opt_;                                          // for share_start
      r = resume_from_newest_intact(run_dir_ / "checkpoints", params_, opt);
    } else {
      r = mirror_.resume(run_dir_ / "checkpoints", model_->config(), params_, *opt_);
    }
    for (const auto& why : r.refused) warn("skipped checkpoint " + why);
    if (r.dir.empty()) {
      SINKLAB_CHECK(!path_exists(run_dir_ / "final"), "run_dir '", run_dir_.string(),
                    "' holds final/ but no checkpoint to resume from; use --overwrite to start it again");
      warn(run_dir_.string() + " has no completed checkpoint (the run stopped before or during its first one): " +
           "starting it again from step 0");
      io::truncate_metrics_after(run_dir_ / "metrics.jsonl", 0);
      return;
    }
    step_ = r.state.step;
    skipped_ = r.state.skipped;
    sampler_->load_state_json(r.state.sampler);
    resumed_from_ = r.dir;
    io::truncate_metrics_after(run_dir_ / "metrics.jsonl", step_);
    if (!r.refused.empty())
      warn("resuming from " + r.dir.string() + ", the newest intact checkpoint");
    else
      log("resumed from " + r.dir.string() + " at step " + std::to_string(step_));
  }

  // The CPU model with the current parameters: the trained model itself, or on a device its host mirror.
  const nn::LlamaModel<T>& host_model() const {
    if constexpr (kCpu) return *model_;
    else return mirror_.model(model_->config(), params_);
  }

  autograd::Var<T, D> loss_on(data::Batch b) const {
    if (random_tokens_) (*random_tokens_)(b);
    if (fixed_token_) (*fixed_token_)(b);
    if (prefix_mask_) (*prefix_mask_)(b);
    const Tensor<int32_t> in = Tensor<int32_t>::from({b.batch_size, b.seq_len}, b.inputs);
    const Tensor<int32_t> tg = Tensor<int32_t>::from({b.batch_size, b.seq_len}, b.targets);
    return model_->loss(in, tg);
  }

  void prune_checkpoints() {
    const int64_t keep = cfg_["log"]["keep_checkpoints"].get<int64_t>();
    if (keep <= 0) return;
    const auto found = step_checkpoints(run_dir_ / "checkpoints");
    for (std::size_t i = 0; i + std::size_t(keep) < found.size(); ++i) fs::remove_all(found[i].second);
  }

  void write_tokenizer_note(const fs::path& dir) const {
    io::write_file_atomic(dir / "tokenizer.txt", data_.tokenizer + "\n");
  }

  void log(const std::string& s) const {
    if (!quiet_ && rank0()) std::cerr << "sinklab-pretrain: " << s << "\n";
  }
  // What the user must know even from a quiet trainer: checkpoints refused, steps skipped, files removed.
  void warn(const std::string& s) const {
    if (rank0()) std::cerr << "sinklab-pretrain: warning: " << s << "\n";
  }

  io::Json cfg_;
  StartMode mode_;
  bool quiet_;
  dist::Communicator* comm_;  // null: one process
  std::unique_ptr<dist::DataParallel> dp_;
  std::unique_ptr<optim::AdamW<T>> resume_opt_;  // ZeRO-1: rank 0's whole moments, read from a checkpoint
  fs::path run_dir_;
  std::unique_ptr<RunDirLock> lock_;  // held for the trainer's life
  fs::path replaced_;                 // the previous run, moved aside by --overwrite until the first checkpoint
  fs::path resumed_from_;
  GradientHook gradient_hook_;
  DataSplits data_;
  std::unique_ptr<nn::LlamaModel<T, D>> model_;
  nn::ParamList<T, D> params_;
  std::unique_ptr<optim::AdamW<T, D>> opt_;  // null with ZeRO-1 (dp_ holds the moments' shards)
  mutable HostMirror<D> mirror_;  // on a device: checkpoints, resume and probes go through the host
  optim::Schedule sched_;
  std::unique_ptr<data::BatchSource> sampler_;
  std::optional<data::RandomTokens> random_tokens_;
  std::optional<data::FixedToken> fixed_token_;
  std::optional<data::PrefixLmMask> prefix_mask_;
  int64_t step_ = 0;
  int64_t skipped_ = 0;  // non-finite steps skipped, over the whole run (saved in checkpoints)
};

using Trainer = TrainerT<Cpu>;

}  // namespace sinklab::train
