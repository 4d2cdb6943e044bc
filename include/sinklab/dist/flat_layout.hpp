#pragma once
// Every parameter's place in one flat float buffer, the unit the collectives move, and how that buffer is cut into
// one shard per rank. Two rules keep sharded arithmetic bit-identical to the single-process one (note [fixed
// reduction order] in communicator.hpp, and clip.hpp / adamw.hpp):
//   - each parameter starts at a multiple of kAlign floats (64 bytes), so a slice of the flat buffer has the same
//     alignment as the same slice of the parameter's own tensor, and Eigen vectorises both alike;
//   - shard boundaries fall only on the start of a parameter or of one of its kNormChunk-element chunks, so every
//     chunk of the gradient-norm sum (and of AdamW's update) lies on one rank and is computed there as it would be
//     in one process.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "sinklab/dist/communicator.hpp"
#include "sinklab/nn/module.hpp"
#include "sinklab/optim/adamw.hpp"
#include "sinklab/optim/clip.hpp"

namespace sinklab::dist {

static_assert(optim::kNormChunk % optim::kAdamWChunk == 0, "a norm chunk must hold whole AdamW chunks");

class FlatLayout {
 public:
  static constexpr int64_t kAlign = 16;  // floats

  // A run of parameter `param`'s elements [begin, begin + count) that lies inside a flat range.
  struct Segment {
    std::size_t param;
    int64_t begin, count;  // within the parameter
    int64_t flat;          // where `begin` is in the flat buffer
  };

  explicit FlatLayout(const nn::ParamList<float>& params) {
    int64_t at = 0;
    for (const auto& p : params) {
      offset_.push_back(at);
      numel_.push_back(p.var.numel());
      at += (p.var.numel() + kAlign - 1) / kAlign * kAlign;
    }
    total_ = at;
  }

  std::size_t params() const { return offset_.size(); }
  int64_t total() const { return total_; }
  int64_t offset(std::size_t i) const { return offset_[i]; }
  int64_t numel(std::size_t i) const { return numel_[i]; }

  // One shard per rank, as even as chunk boundaries allow: rank r's shard ends at the allowed boundary nearest to
  // (r + 1) · total / ranks. With more ranks than chunks some shards are empty.
  Partition partition(int ranks) const {
    std::vector<int64_t> cuts;  // every allowed boundary, ascending
    for (std::size_t i = 0; i < params(); ++i)
      for (int64_t k = 0; k < numel_[i]; k += optim::kNormChunk) cuts.push_back(offset_[i] + k);
    cuts.push_back(total_);
    Partition p;
    p.begin.push_back(0);
    for (int r = 1; r < ranks; ++r) {
      const int64_t target = total_ * r / ranks;
      auto it = std::lower_bound(cuts.begin(), cuts.end(), target);
      if (it != cuts.begin() && (it == cuts.end() || target - *(it - 1) < *it - target)) --it;
      p.begin.push_back(std::max(p.begin.back(), *it));
    }
    p.begin.push_back(total_);
    return p;
  }

  // The parts of parameters that lie in the flat range [lo, hi), in order.
  std::vector<Segment> segments(int64_t lo, int64_t hi) const {
    std::vector<Segment> out;
    for (std::size_t i = 0; i < params(); ++i) {
      const int64_t b = std::max(lo, offset_[i]), e = std::min(hi, offset_[i] + numel_[i]);
      if (b < e) out.push_back({i, b - offset_[i], e - b, b});
    }
    return out;
  }

  // Gradients into `flat`; a parameter without one (and the padding) becomes -0.0, the identity of the ordered
  // sum. Returns which parameters had one.
  std::vector<int64_t> pack_grads(const nn::ParamList<float>& params, float* flat) const {
    std::fill(flat, flat + total_, -0.0f);
    std::vector<int64_t> has(params.size(), 0);
    for (std::size_t i = 0; i < params.size(); ++i) {
      if (!params[i].var.has_grad()) continue;
      has[i] = 1;
      const Tensor<float> g = params[i].var.grad().contiguous();
      std::copy(g.data(), g.data() + numel_[i], flat + offset_[i]);
    }
    return has;
  }

  // Gradients from `flat` for the parameters with has[i] != 0; the others have none, as after zero_grad.
  void unpack_grads(const float* flat, const std::vector<int64_t>& has, nn::ParamList<float>& params) const {
    for (std::size_t i = 0; i < params.size(); ++i) {
      params[i].var.zero_grad();
      if (!has[i]) continue;
      Tensor<float> g(params[i].var.shape());
      std::copy(flat + offset_[i], flat + offset_[i] + numel_[i], g.data());
      params[i].var.mutable_grad() = std::move(g);
    }
  }

  void pack_values(const nn::ParamList<float>& params, float* flat) const {
    std::fill(flat, flat + total_, 0.0f);
    for (std::size_t i = 0; i < params.size(); ++i) {
      const Tensor<float> v = params[i].var.value().contiguous();
      std::copy(v.data(), v.data() + numel_[i], flat + offset_[i]);
    }
  }
  void unpack_values(const float* flat, nn::ParamList<float>& params) const {
    for (std::size_t i = 0; i < params.size(); ++i)
      std::copy(flat + offset_[i], flat + offset_[i] + numel_[i], params[i].var.mutable_value().data());
  }

  // Per-parameter tensors (AdamW moments) to and from the flat form.
  void pack(const std::vector<Tensor<float>>& ts, float* flat) const {
    std::fill(flat, flat + total_, 0.0f);
    for (std::size_t i = 0; i < ts.size(); ++i) std::copy(ts[i].data(), ts[i].data() + numel_[i], flat + offset_[i]);
  }
  void unpack(const float* flat, std::vector<Tensor<float>>& ts) const {
    for (std::size_t i = 0; i < ts.size(); ++i) std::copy(flat + offset_[i], flat + offset_[i] + numel_[i], ts[i].data());
  }

 private:
  std::vector<int64_t> offset_, numel_;
  int64_t total_ = 0;
};

}  // namespace sinklab::dist
