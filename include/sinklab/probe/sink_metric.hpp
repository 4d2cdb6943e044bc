#pragma once
// The attention-sink metric of Gu et al. (ICLR 2025, §3): importance α_k^{l,h} = (1/(T−k+1)) Σ_{t=k..T} A_{t,k}
// (1-based k, mean over the queries that can see key k), and Sink_k^ε = mean over samples, layers and heads of
// 1[α_k^{l,h} > ε], in percent. With a sink slot the map has T+1 columns: column 0 is the slot and key k is
// column k (see DESIGN §4), so the slot itself is never scored as a token; the slot gets a score of its own,
// α_slot^{l,h} = mean over all T queries of A_{t,slot} (every query sees it), reported next to α_1: in the sink
// paper's K-bias models the sink moves to the slot (Sink on the slot high, Sink₁ on the first token 0).
#include <cstdint>
#include <vector>

#include "sinklab/core/error.hpp"
#include "sinklab/tensor/tensor.hpp"

namespace sinklab::probe {

// α for every key position of one (T × T[+1]) attention map; result has T entries (α_1..α_T).
template <class T>
std::vector<double> key_importance(const T* map, int64_t seq_len, int64_t columns) {
  SINKLAB_CHECK(columns == seq_len || columns == seq_len + 1, "attention map with ", columns,
                " columns for ", seq_len, " queries (expected T or T+1 with a sink slot)");
  const int64_t shift = columns - seq_len;  // 1 when column 0 is a sink slot
  std::vector<double> alpha(seq_len, 0.0);
  for (int64_t k = 0; k < seq_len; ++k) {  // 0-based key k ↔ the paper's k+1
    double s = 0;
    for (int64_t t = k; t < seq_len; ++t) s += double(map[t * columns + k + shift]);
    alpha[k] = s / double(seq_len - k);
  }
  return alpha;
}

// Accumulates maps of shape (L, H, T, T[+1]) sample by sample.
class SinkAccumulator {
 public:
  SinkAccumulator(int64_t layers, int64_t heads, int64_t seq_len)
      : layers_(layers), heads_(heads), seq_len_(seq_len), alpha_sum_(layers * heads * seq_len, 0.0) {}

  // maps: one (H, T, C) tensor per layer for one sample.
  template <class T>
  void add_sample(const std::vector<Tensor<T>>& maps) {
    SINKLAB_CHECK(static_cast<int64_t>(maps.size()) == layers_, "expected ", layers_, " layer maps, got ", maps.size());
    for (int64_t l = 0; l < layers_; ++l) {
      const Tensor<T> m = maps[l].contiguous();
      SINKLAB_CHECK(m.dim() == 3 && m.size(0) == heads_ && m.size(1) == seq_len_, "layer ", l,
                    " attention map has shape ", to_string(m.shape()), "; expected (", heads_, ", ", seq_len_, ", T[+1])");
      const int64_t cols = m.size(2);
      for (int64_t h = 0; h < heads_; ++h) {
        const T* map = m.data() + h * seq_len_ * cols;
        const auto a = key_importance(map, seq_len_, cols);
        if (cols == seq_len_ + 1) {
          double s = 0;
          for (int64_t t = 0; t < seq_len_; ++t) s += double(map[t * cols]);
          slot_alpha_.push_back(s / double(seq_len_));
        }
        for (int64_t k = 0; k < seq_len_; ++k) alpha_sum_[(l * heads_ + h) * seq_len_ + k] += a[k];
        per_sample_.push_back(a);
      }
    }
    ++samples_;
  }

  int64_t samples() const { return samples_; }

  // Sink_k^ε in percent for k = 1..kmax (1-based), over every (sample, layer, head).
  std::vector<double> sink_rate(double eps, int64_t kmax = 10) const {
    std::vector<double> out(std::min(kmax, seq_len_), 0.0);
    if (per_sample_.empty()) return out;
    for (const auto& a : per_sample_)
      for (std::size_t k = 0; k < out.size(); ++k) out[k] += a[k] > eps ? 1.0 : 0.0;
    for (auto& v : out) v = 100.0 * v / double(per_sample_.size());
    return out;
  }

  bool has_slot() const { return !slot_alpha_.empty(); }

  // Mean over (sample, layer, head) of α_k (k 1-based), and of α_slot.
  double mean_alpha_k(int64_t k = 1) const {
    SINKLAB_CHECK(k >= 1 && k <= seq_len_, "mean_alpha_k: k = ", k, " outside 1..", seq_len_);
    if (per_sample_.empty()) return 0.0;
    double s = 0;
    for (const auto& a : per_sample_) s += a[std::size_t(k - 1)];
    return s / double(per_sample_.size());
  }
  double mean_slot_alpha() const {
    double s = 0;
    for (double a : slot_alpha_) s += a;
    return slot_alpha_.empty() ? 0.0 : s / double(slot_alpha_.size());
  }
  // Share (percent) of (sample, layer, head) whose slot has α_slot > ε: the slot's Sink rate.
  double slot_sink_rate(double eps) const {
    double n = 0;
    for (double a : slot_alpha_) n += a > eps ? 1.0 : 0.0;
    return slot_alpha_.empty() ? 0.0 : 100.0 * n / double(slot_alpha_.size());
  }

  // Mean α over samples, as (L, H, T).
  Tensor<double> mean_alpha() const {
    Tensor<double> out({layers_, heads_, seq_len_});
    for (std::size_t i = 0; i < alpha_sum_.size(); ++i) out.data()[i] = samples_ ? alpha_sum_[i] / double(samples_) : 0;
    return out;
  }

  // Fraction (percent) of samples in which head (l, h) has α_1 > ε: the per-head picture behind Sink₁.
  Tensor<double> sink_rate_per_head(double eps) const {
    Tensor<double> out({layers_, heads_});
    if (!samples_) return out;
    for (std::size_t i = 0; i < per_sample_.size(); ++i) {
      const int64_t lh = static_cast<int64_t>(i % (layers_ * heads_));
      out.data()[lh] += per_sample_[i][0] > eps ? 100.0 / double(samples_) : 0.0;
    }
    return out;
  }

 private:
  int64_t layers_, heads_, seq_len_, samples_ = 0;
  std::vector<double> alpha_sum_;
  std::vector<std::vector<double>> per_sample_;  // α per (sample, layer, head), in that order
  std::vector<double> slot_alpha_;               // α_slot per (sample, layer, head), when the maps have a slot
};

}  // namespace sinklab::probe
