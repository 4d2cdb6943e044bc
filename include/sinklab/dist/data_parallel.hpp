#pragma once
// Data-parallel training steps over a Communicator: the gradient reduction, the gradient norm, and the optimiser
// step with (train.zero = 1) or without (0) ZeRO-1 sharding. The trainer (train/trainer.hpp) drives it:
//
//   begin_step();
//   for each round j = 0 .. a-1:            // a = train.grad_accum / ranks
//     backward on micro-batch j·N + rank;   // note [global batch] in trainer.hpp
//     reduce_round();                       // every rank's gradient folded into the shards in rank order
//   finish_reduction();
//   norm = grad_norm();  then  ZeRO-0: clip + optim::AdamW::step on the whole gradient (every rank holds it)
//                              ZeRO-1: sharded_step(): clip + update of this rank's shard + all-gather of the weights
//
// Every number is the single process's, bit for bit (note [fixed reduction order] in communicator.hpp): round j
// folds micro-batches jN, jN+1, ..., jN+N-1 into the accumulator in that order, which is the order in which one
// process with train.grad_accum = a·N adds them; the loss and the norm are summed in that order too.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "sinklab/dist/communicator.hpp"
#include "sinklab/dist/flat_layout.hpp"
#include "sinklab/dist/sharded_adamw.hpp"
#include "sinklab/optim/adamw.hpp"
#include "sinklab/optim/clip.hpp"

namespace sinklab::dist {

class DataParallel {
 public:
  // zero = 1: the AdamW state is sharded here (ShardedAdamW); zero = 0: the caller keeps an optim::AdamW.
  DataParallel(Communicator& comm, nn::ParamList<float> params, int zero, optim::AdamWConfig cfg)
      : comm_(comm), params_(std::move(params)), layout_(params_), part_(layout_.partition(comm.size())), zero_(zero),
        lo_(part_.offset(comm.rank())), count_(part_.count(comm.rank())),
        segments_(layout_.segments(lo_, lo_ + count_)) {
    SINKLAB_CHECK(zero == 0 || zero == 1, "train.zero must be 0 or 1, got ", zero);
    send_.resize(std::size_t(layout_.total()));
    acc_.resize(std::size_t(count_));
    if (zero_ == 1) adam_ = std::make_unique<ShardedAdamW>(comm_, layout_, part_, cfg);
  }
  DataParallel(const DataParallel&) = delete;  // adam_ refers to layout_ and part_
  DataParallel& operator=(const DataParallel&) = delete;

  Communicator& comm() { return comm_; }
  const FlatLayout& layout() const { return layout_; }
  const Partition& partition() const { return part_; }
  int zero() const { return zero_; }
  ShardedAdamW* sharded_adamw() { return adam_.get(); }
  const std::vector<int64_t>& has_grad() const { return has_; }
  // Seconds spent in gradient and weight collectives since the last call (metrics.jsonl: comm_s).
  double take_comm_seconds() { return std::exchange(comm_s_, 0.0); }

  // Clears the parameters' .grad (ZeRO-0 left last step's reduced gradient there) and the accumulator.
  void begin_step() {
    for (auto& p : params_) p.var.zero_grad();
    std::fill(acc_.begin(), acc_.end(), -0.0f);  // the identity of the ordered sum
    has_.assign(layout_.params(), 0);
  }

  // Folds this round's gradients (in the parameters' .grad, which it then clears) into the accumulator.
  void reduce_round() {
    const auto has = layout_.pack_grads(params_, send_.data());
    for (std::size_t i = 0; i < has.size(); ++i) has_[i] |= has[i];
    for (auto& p : params_) p.var.zero_grad();
    timed([&] { comm_.reduce_scatter_ordered(send_.data(), acc_.data(), part_); });
  }

  // After the last round: which parameters have a gradient anywhere; with ZeRO-0, every rank's parameters get the
  // whole reduced gradient in .grad.
  void finish_reduction() {
    comm_.all_reduce_max(has_, "which parameters have gradients");
    if (zero_ == 1) return;
    timed([&] { comm_.all_gather(acc_.data(), send_.data(), part_); });
    layout_.unpack_grads(send_.data(), has_, params_);
  }

  // The step's mean loss over every micro-batch: `mine` holds this rank's, one per round; the sum runs in
  // micro-batch order (jN + r), as Trainer::run sums one process's.
  double mean_loss(std::span<const float> mine) {
    const auto all = comm_.all_gather_values<float>(mine, "micro-batch losses");  // [rank][round]
    const auto rounds = mine.size(), ranks = std::size_t(comm_.size());
    double sum = 0;
    for (std::size_t j = 0; j < rounds; ++j)
      for (std::size_t r = 0; r < ranks; ++r) sum += double(all[r * rounds + j]);
    return sum / double(rounds * ranks);
  }

  // ‖g‖₂ of the reduced gradient, bit-identical to optim::global_grad_norm on it: the same kNormChunk partial sums,
  // added in the same order (ZeRO-1 gathers the partials; every rank then sums them alike).
  double grad_norm() {
    if (zero_ == 0) return optim::global_grad_norm(params_);
    std::vector<double> mine;
    for (const auto& s : segments_) {
      if (!has_[s.param]) continue;
      for (int64_t k = 0; k < s.count; k += optim::kNormChunk)
        mine.push_back(optim::detail::chunk_sum_squares(acc_.data() + (s.flat - lo_) + k, std::min(optim::kNormChunk, s.count - k)));
    }
    const auto parts = comm_.all_gather_bytes(
        std::string_view(reinterpret_cast<const char*>(mine.data()), mine.size() * sizeof(double)), "gradient norm");
    std::vector<double> chunks;  // every rank's, in rank order = flat order = (parameter, chunk) order
    for (const auto& p : parts) {
      const double* d = reinterpret_cast<const double*>(p.data());
      chunks.insert(chunks.end(), d, d + p.size() / sizeof(double));
    }
    double sq = 0;
    std::size_t next = 0;
    for (std::size_t i = 0; i < layout_.params(); ++i) {
      if (!has_[i]) continue;
      double param_sq = 0;
      for (int64_t k = 0; k < layout_.numel(i); k += optim::kNormChunk) param_sq += chunks.at(next++);
      sq += param_sq;
    }
    SINKLAB_CHECK(next == chunks.size(), "gradient norm: ", chunks.size(), " partial sums for ", next, " chunks");
    return std::sqrt(sq);
  }

  // The first parameter (model order) whose reduced gradient holds a NaN or Inf; empty when none does.
  std::string first_nonfinite_grad() {
    if (zero_ == 0) return optim::first_nonfinite_grad(params_);
    int64_t first = int64_t(layout_.params());
    for (const auto& s : segments_) {
      if (!has_[s.param]) continue;
      const float* g = acc_.data() + (s.flat - lo_);
      if (!Eigen::Map<const Eigen::ArrayXf>(g, s.count).allFinite()) {
        first = int64_t(s.param);
        break;
      }
    }
    int64_t neg = -first;  // the minimum over ranks, as a maximum
    comm_.all_reduce_max(std::span<int64_t>(&neg, 1), "first non-finite gradient");
    return -neg < int64_t(layout_.params()) ? params_[std::size_t(-neg)].name : std::string();
  }

  // ZeRO-1: clip this rank's shard of the gradient as optim::clip_grads_to would the whole, update its weights,
  // and all-gather every weight.
  void sharded_step(double lr, double norm, double max_norm) {
    SINKLAB_CHECK(zero_ == 1, "sharded_step needs train.zero = 1");
    if (max_norm > 0 && norm > max_norm && std::isfinite(norm)) {
      const float scale = static_cast<float>(max_norm / (norm + 1e-6));
      Eigen::Map<Eigen::ArrayXf>(acc_.data(), count_) *= scale;
    }
    adam_->step(lr, acc_.data(), has_, params_);
    all_gather_weights();
  }

  // Every rank's weights := root's (a resumed run starts from the checkpoint rank 0 read).
  void broadcast_weights(int root) {
    layout_.pack_values(params_, send_.data());
    comm_.broadcast_floats(send_.data(), layout_.total(), root);
    layout_.unpack_values(send_.data(), params_);
  }

 private:
  void all_gather_weights() {
    for (const auto& s : segments_)
      std::copy_n(params_[s.param].var.value().data() + s.begin, s.count, send_.data() + s.flat);
    timed([&] { comm_.all_gather(send_.data() + lo_, send_.data(), part_); });
    layout_.unpack_values(send_.data(), params_);
  }

  template <class F>
  void timed(F&& f) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    comm_s_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  Communicator& comm_;
  nn::ParamList<float> params_;
  FlatLayout layout_;
  Partition part_;
  int zero_;
  int64_t lo_, count_;                          // this rank's shard of the flat buffer
  std::vector<FlatLayout::Segment> segments_;  // the parameter slices in it
  AlignedFloats send_;                          // whole flat buffer: this rank's gradients, then gathered values
  AlignedFloats acc_;                           // this rank's shard of the reduced gradient
  std::vector<int64_t> has_;                    // per parameter: has a gradient (this step, any round, any rank)
  std::unique_ptr<ShardedAdamW> adam_;
  double comm_s_ = 0;
};

}  // namespace sinklab::dist
