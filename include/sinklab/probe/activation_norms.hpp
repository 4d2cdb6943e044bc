#pragma once
// Activation statistics (DESIGN §4): L2 norms over the hidden dimension per layer and position (averaged over
// samples), the first-token ratio ‖h_1‖ / mean_{t>1} ‖h_t‖, and massive activations (Sun et al. 2024, "Massive
// Activations in Large Language Models"): per layer, the top-k |h| values and the median |h|.
#include <algorithm>
#include <cmath>
#include <vector>

#include "sinklab/tensor/tensor.hpp"

namespace sinklab::probe {

class NormAccumulator {
 public:
  NormAccumulator(int64_t layers, int64_t seq_len) : layers_(layers), seq_len_(seq_len), sum_(layers * seq_len, 0.0) {}

  // x: (B, S, D) for layer l (or (B, H, S, Dh) for keys/values: norms over Dh, averaged over heads).
  template <class T>
  void add(int64_t layer, const Tensor<T>& x_in) {
    const Tensor<T> x = x_in.contiguous();
    SINKLAB_CHECK(x.dim() == 3 || x.dim() == 4, "norms: expected (B, S, D) or (B, H, S, D), got ", to_string(x.shape()));
    const int64_t B = x.size(0), heads = x.dim() == 4 ? x.size(1) : 1, S = x.size(-2), D = x.size(-1);
    SINKLAB_CHECK(S == seq_len_ && layer < layers_, "norms: layer ", layer, " shape ", to_string(x.shape()));
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t t = 0; t < S; ++t) {
          const T* row = x.data() + ((b * heads + h) * S + t) * D;
          double s = 0;
          for (int64_t d = 0; d < D; ++d) s += double(row[d]) * double(row[d]);
          sum_[layer * seq_len_ + t] += std::sqrt(s) / double(heads);
        }
    if (layer == 0) samples_ += B;
  }

  int64_t samples() const { return samples_; }

  // (L, S) mean norms.
  std::vector<std::vector<double>> mean() const {
    std::vector<std::vector<double>> out(layers_, std::vector<double>(seq_len_, 0.0));
    for (int64_t l = 0; l < layers_; ++l)
      for (int64_t t = 0; t < seq_len_; ++t) out[l][t] = samples_ ? sum_[l * seq_len_ + t] / double(samples_) : 0.0;
    return out;
  }

  // ‖h_1‖ / mean_{t>1} ‖h_t‖ per layer.
  std::vector<double> first_token_ratio() const {
    std::vector<double> out;
    for (const auto& row : mean()) {
      double rest = 0;
      for (std::size_t t = 1; t < row.size(); ++t) rest += row[t];
      rest /= double(std::max<std::size_t>(1, row.size() - 1));
      out.push_back(rest > 0 ? row[0] / rest : 0.0);
    }
    return out;
  }

 private:
  int64_t layers_, seq_len_, samples_ = 0;
  std::vector<double> sum_;
};

struct MassiveStats {
  std::vector<double> top;  // largest |h|, descending
  double median = 0;
  double ratio = 0;          // top[0] / median
  bool massive = false;      // top[0] > 100 and > 1000 × median (Sun et al.'s rule of thumb)
};

template <class T>
MassiveStats massive_activations(const Tensor<T>& h, int k = 10) {
  const Tensor<T> c = h.contiguous();
  std::vector<double> a(c.numel());
  for (int64_t i = 0; i < c.numel(); ++i) a[i] = std::abs(double(c.data()[i]));
  MassiveStats s;
  if (a.empty()) return s;
  const std::size_t kk = std::min<std::size_t>(k, a.size());
  std::partial_sort(a.begin(), a.begin() + kk, a.end(), std::greater<>());
  s.top.assign(a.begin(), a.begin() + kk);
  std::vector<double> rest(a.begin(), a.end());
  std::nth_element(rest.begin(), rest.begin() + rest.size() / 2, rest.end());
  s.median = rest[rest.size() / 2];
  s.ratio = s.median > 0 ? s.top[0] / s.median : 0.0;
  s.massive = s.top[0] > 100.0 && s.ratio > 1000.0;
  return s;
}

}  // namespace sinklab::probe
