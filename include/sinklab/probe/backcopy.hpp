#pragma once
// What the Bigram-Backcopy experiments measure (DESIGN §4; Guo et al. 2024, §2), gathered batch by batch through
// run_probe's hook on sequences that start with BOS:
//   bos_attn          mean weight that non-trigger queries (positions t >= 1 whose token is not a trigger) give to
//                     BOS, over samples, layers and heads (probe map), and per (layer, head)
//   bos_attn_raw      the same on the raw coefficients κ/ρ (equal to bos_attn for distribution-like rows)
//   bos_attn_trigger  the same from trigger queries (an active backcopy head looks at the previous token instead)
//   backcopy_loss     mean cross-entropy of the targets right after a trigger (the oracle's is 0: they are copies)
//   backcopy_acc      share of those targets given probability > 1/2 (so the argmax is right)
//   bigram_loss       mean cross-entropy of every other target, and bigram_oracle, the mean entropy of the true
//                     next-token distribution at the same positions (the loss of the task's own table)
#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "sinklab/data/bigram_backcopy.hpp"
#include "sinklab/probe/runner.hpp"

namespace sinklab::probe {

class BackcopyProbe {
 public:
  BackcopyProbe(std::shared_ptr<const data::BigramBackcopy> task, const std::vector<std::vector<int32_t>>& sequences,
                int64_t layers, int64_t heads)
      : task_(std::move(task)), seqs_(&sequences), layers_(layers), heads_(heads), head_sum_(layers * heads, 0.0) {
    for (std::size_t i = 0; i < sequences.size(); ++i)
      SINKLAB_CHECK(!sequences[i].empty() && sequences[i][0] == task_->bos(), "Bigram-Backcopy probe: sequence ", i,
                    " does not start with BOS (", task_->bos(), ")");
  }

  // Pass to ProbeOptions::on_batch (with raw = true for bos_attn_raw).
  template <class T>
  ProbeBatchHook<T> hook() {
    return [this](std::size_t first, int64_t B, const nn::ForwardTrace<T>& trace, const Tensor<T>& losses) {
      add(first, B, trace, losses);
    };
  }

  nlohmann::json metrics() const {
    auto mean = [](double s, int64_t n) { return n ? s / double(n) : std::nan(""); };
    std::vector<double> per_head(head_sum_.size());
    for (std::size_t i = 0; i < per_head.size(); ++i) per_head[i] = mean(head_sum_[i], bos_n_ / (layers_ * heads_));
    nlohmann::json j = {{"bos_attn", mean(bos_sum_, bos_n_)},
                        {"bos_attn_heads", per_head},
                        {"bos_attn_trigger", mean(trig_sum_, trig_n_)},
                        {"backcopy_loss", mean(bc_loss_, bc_n_)},
                        {"backcopy_acc", mean(bc_right_, bc_n_)},
                        {"bigram_loss", mean(bg_loss_, bg_n_)},
                        {"bigram_oracle", mean(bg_oracle_, bg_n_)}};
    if (raw_n_) j["bos_attn_raw"] = mean(raw_sum_, raw_n_);
    return j;
  }

 private:
  template <class T>
  void add(std::size_t first, int64_t B, const nn::ForwardTrace<T>& trace, const Tensor<T>& losses) {
    const auto& maps = trace.attention;
    SINKLAB_CHECK(int64_t(maps.size()) == layers_, "Bigram-Backcopy probe: ", maps.size(), " attention maps for ",
                  layers_, " layers");
    const int64_t T_ = maps[0].size(2), cols = maps[0].size(3), bos_col = cols - T_;  // 1 when column 0 is a slot
    const bool raw = !trace.raw_attention.empty();
    for (int64_t b = 0; b < B; ++b) {
      const auto& s = (*seqs_)[first + std::size_t(b)];
      for (int64_t t = 0; t < T_; ++t) {  // target s[t + 1]
        const double loss = double(losses.data()[b * T_ + t]);
        if (t >= 1 && task_->is_trigger(s[std::size_t(t)])) {
          bc_loss_ += loss, bc_right_ += loss < std::log(2.0) ? 1.0 : 0.0, ++bc_n_;
        } else {
          bg_loss_ += loss, bg_oracle_ += task_->next_token_entropy(s, std::size_t(t)), ++bg_n_;
        }
      }
      for (int64_t l = 0; l < layers_; ++l) {
        const Tensor<T> m = maps[std::size_t(l)].contiguous();
        const Tensor<T> rm = raw ? trace.raw_attention[std::size_t(l)].contiguous() : Tensor<T>();
        for (int64_t h = 0; h < heads_; ++h) {
          const std::size_t off = std::size_t((b * heads_ + h) * T_ * cols);
          for (int64_t t = 1; t < T_; ++t) {
            const double w = double(m.data()[off + std::size_t(t * cols + bos_col)]);
            if (task_->is_trigger(s[std::size_t(t)])) {
              trig_sum_ += w, ++trig_n_;
              continue;
            }
            bos_sum_ += w, ++bos_n_;
            head_sum_[std::size_t(l * heads_ + h)] += w;
            if (raw) raw_sum_ += double(rm.data()[off + std::size_t(t * cols + bos_col)]), ++raw_n_;
          }
        }
      }
    }
  }

  std::shared_ptr<const data::BigramBackcopy> task_;
  const std::vector<std::vector<int32_t>>* seqs_;
  int64_t layers_, heads_;
  std::vector<double> head_sum_;
  double bos_sum_ = 0, raw_sum_ = 0, trig_sum_ = 0, bc_loss_ = 0, bc_right_ = 0, bg_loss_ = 0, bg_oracle_ = 0;
  int64_t bos_n_ = 0, raw_n_ = 0, trig_n_ = 0, bc_n_ = 0, bg_n_ = 0;
};

}  // namespace sinklab::probe
