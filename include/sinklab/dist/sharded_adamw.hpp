#pragma once
// ZeRO stage 1 (Rajbhandari et al. 2020, "ZeRO: Memory Optimizations Toward Training Trillion Parameter Models",
// §5.1): each rank keeps AdamW's moments only for its own shard of the flat parameter buffer (flat_layout.hpp) and
// updates only those weights; an all-gather then gives every rank every weight. AdamW is elementwise and the shards
// start at chunk boundaries, so the update is bit-identical to optim::AdamW on whole tensors (adamw.hpp).
// Checkpoints hold whole moments: gather_moments / load_moments convert at the root.
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "sinklab/core/host_cache.hpp"
#include "sinklab/dist/communicator.hpp"
#include "sinklab/dist/flat_layout.hpp"
#include "sinklab/optim/adamw.hpp"

namespace sinklab::dist {

using AlignedFloats = std::vector<float, HostAllocator<float>>;  // 64-byte aligned (FlatLayout's rule)

class ShardedAdamW {
 public:
  ShardedAdamW(Communicator& comm, const FlatLayout& layout, const Partition& part, optim::AdamWConfig cfg)
      : comm_(comm), layout_(layout), part_(part), cfg_(cfg),
        segments_(layout.segments(part.offset(comm.rank()), part.offset(comm.rank()) + part.count(comm.rank()))) {
    const auto n = std::size_t(part_.count(comm_.rank()));
    m_.assign(n, 0.0f);
    v_.assign(n, 0.0f);
  }

  // One update of this rank's weights from `grad`, its shard of the reduced (and clipped) gradient; has[i]: whether
  // parameter i has a gradient anywhere (optim::AdamW skips those that do not).
  void step(double lr, const float* grad, const std::vector<int64_t>& has, nn::ParamList<float>& params) {
    ++step_;
    const int64_t lo = part_.offset(comm_.rank());
    for (const auto& s : segments_) {
      auto& p = params[s.param];
      if (!has[s.param] || !p.var.requires_grad()) continue;
      const int64_t at = s.flat - lo;
      optim::adamw_update(cfg_, step_, lr, optim::weight_decay_of(cfg_, p), p.var.mutable_value().data() + s.begin,
                          m_.data() + at, v_.data() + at, grad + at, s.count);
    }
  }

  int64_t step_count() const { return step_; }

  // At `root`: the whole moments, one tensor per parameter (exp_avg, exp_avg_sq); elsewhere nothing. Collective.
  std::optional<std::pair<std::vector<Tensor<float>>, std::vector<Tensor<float>>>> gather_moments(
      const nn::ParamList<float>& params, int root) {
    const bool at_root = comm_.rank() == root;
    AlignedFloats flat(at_root ? std::size_t(layout_.total()) : 0);
    std::pair<std::vector<Tensor<float>>, std::vector<Tensor<float>>> out;
    for (auto* moments : {&out.first, &out.second}) {
      comm_.gather(moments == &out.first ? m_.data() : v_.data(), flat.data(), part_, root);
      if (!at_root) continue;
      for (const auto& p : params) moments->emplace_back(p.var.shape());
      layout_.unpack(flat.data(), *moments);
    }
    if (!at_root) return std::nullopt;
    return out;
  }

  // Takes this rank's shard of `full`'s moments and step count; `full` is read only at `root`. Collective.
  void load_moments(optim::AdamW<float>* full, int root) {
    const bool at_root = comm_.rank() == root;
    SINKLAB_CHECK(!at_root || full, "ShardedAdamW::load_moments: the root has no optimiser state to send");
    AlignedFloats flat(at_root ? std::size_t(layout_.total()) : 0);
    if (at_root) layout_.pack(full->exp_avg(), flat.data());
    comm_.scatter(flat.data(), m_.data(), part_, root);
    if (at_root) layout_.pack(full->exp_avg_sq(), flat.data());
    comm_.scatter(flat.data(), v_.data(), part_, root);
    int64_t s = at_root ? full->step_count() : 0;
    comm_.broadcast_value(s, root, "optimizer step count");
    step_ = s;
  }

 private:
  Communicator& comm_;
  const FlatLayout& layout_;
  const Partition& part_;
  optim::AdamWConfig cfg_;
  std::vector<FlatLayout::Segment> segments_;  // the parameter slices of this rank's shard
  AlignedFloats m_, v_;                        // this rank's shard of the moments
  int64_t step_ = 0;
};

}  // namespace sinklab::dist
