#pragma once
// Runs a model over token sequences and gathers everything the probes report: attention maps → Sink_k^ε and α,
// next-token loss, hidden/key/value norms and massive-activation statistics. Used by `sinklab-probe` and by
// `sinklab-pretrain` at its probe interval, so both report the same numbers.
#include <functional>
#include <vector>

#include "sinklab/nn/llama.hpp"
#include "sinklab/probe/activation_norms.hpp"
#include "sinklab/probe/sink_metric.hpp"

namespace sinklab::probe {

struct ProbeResult {
  int64_t samples = 0, seq_len = 0, layers = 0, heads = 0;
  double mean_loss = 0;          // mean next-token cross-entropy (nats) over the probed positions
  SinkAccumulator sink{1, 1, 1};      // on the probe maps (DESIGN §4)
  SinkAccumulator sink_raw{1, 1, 1};  // on the raw coefficients κ/ρ, when ProbeOptions::raw
  NormAccumulator hidden{1, 1}, keys{1, 1}, values{1, 1};
  std::vector<MassiveStats> massive;  // per hidden-state layer (0 = embeddings), over all samples
};

// One forward batch as the probe saw it, for probes that need more than α (e.g. the Bigram-Backcopy probe):
// sequences [first, first + B), its trace (attention maps, and raw maps when asked) and per-token losses (B·T).
template <class T>
using ProbeBatchHook =
    std::function<void(std::size_t first, int64_t B, const nn::ForwardTrace<T>& trace, const Tensor<T>& losses)>;

template <class T>
struct ProbeOptions {
  int64_t batch = 16;
  bool norms = true;    // hidden/key/value norms per position
  bool massive = true;  // massive-activation statistics (needs norms; keeps every |h|)
  bool raw = false;     // also the raw attention coefficients (sink_raw)
  ProbeBatchHook<T> on_batch;
};

// sequences: N rows of seq_len + 1 tokens (inputs [0, T), targets [1, T]); batches of `batch`.
template <class T>
ProbeResult run_probe(const nn::LlamaModel<T>& model, const std::vector<std::vector<int32_t>>& sequences,
                      int64_t batch = 16, bool norms = true) {
  ProbeOptions<T> o;
  o.batch = batch;
  o.norms = o.massive = norms;
  return run_probe(model, sequences, o);
}

template <class T>
ProbeResult run_probe(const nn::LlamaModel<T>& model, const std::vector<std::vector<int32_t>>& sequences,
                      const ProbeOptions<T>& opt) {
  const int64_t batch = opt.batch;
  const bool norms = opt.norms;
  SINKLAB_CHECK(!sequences.empty(), "probe: no sequences");
  const auto& cfg = model.config();
  const int64_t Tlen = static_cast<int64_t>(sequences[0].size()) - 1;
  SINKLAB_CHECK(Tlen >= 2, "probe: sequences need at least 3 tokens");
  ProbeResult r;
  r.seq_len = Tlen;
  r.layers = cfg.n_layers;
  r.heads = cfg.n_heads;
  r.sink = SinkAccumulator(cfg.n_layers, cfg.n_heads, Tlen);
  r.sink_raw = SinkAccumulator(cfg.n_layers, cfg.n_heads, Tlen);
  r.hidden = NormAccumulator(cfg.n_layers + 1, Tlen);
  r.keys = NormAccumulator(cfg.n_layers, Tlen);
  r.values = NormAccumulator(cfg.n_layers, Tlen);
  std::vector<std::vector<double>> abs_values(cfg.n_layers + 1);
  autograd::NoGradGuard no_grad;
  double loss_sum = 0;
  int64_t loss_count = 0;
  for (std::size_t start = 0; start < sequences.size(); start += batch) {
    const int64_t B = std::min<int64_t>(batch, static_cast<int64_t>(sequences.size() - start));
    Tensor<int32_t> ids({B, Tlen}), tgt({B * Tlen});
    for (int64_t b = 0; b < B; ++b) {
      const auto& s = sequences[start + b];
      SINKLAB_CHECK(static_cast<int64_t>(s.size()) == Tlen + 1, "probe: sequence ", start + b, " has ", s.size(),
                    " tokens; expected ", Tlen + 1);
      for (int64_t t = 0; t < Tlen; ++t) {
        SINKLAB_CHECK(s[t] >= 0 && s[t] < cfg.vocab_size, "probe: token id ", s[t], " outside the model's vocabulary (",
                      cfg.vocab_size, ")");
        ids[{b, t}] = s[t];
        tgt.data()[b * Tlen + t] = s[t + 1];
      }
    }
    nn::ForwardTrace<T> trace;
    trace.want_attention = true;
    trace.want_raw_attention = opt.raw;
    const auto logits = model.forward(ids, &trace);
    const auto losses =
        autograd::cross_entropy_per_token(autograd::reshape(logits, {-1, cfg.vocab_size}), tgt).value();
    for (int64_t i = 0; i < losses.numel(); ++i) loss_sum += double(losses.data()[i]);
    loss_count += losses.numel();
    auto sample_maps = [](const std::vector<Tensor<T>>& per_layer, int64_t b) {
      std::vector<Tensor<T>> maps;
      for (const auto& a : per_layer) maps.push_back(a.slice(0, b, b + 1).reshape({a.size(1), a.size(2), a.size(3)}));
      return maps;
    };
    for (int64_t b = 0; b < B; ++b) {
      r.sink.add_sample(sample_maps(trace.attention, b));
      if (opt.raw) r.sink_raw.add_sample(sample_maps(trace.raw_attention, b));
    }
    if (opt.on_batch) opt.on_batch(start, B, trace, losses);
    if (norms) {
      for (int64_t l = 0; l <= cfg.n_layers; ++l) {
        r.hidden.add(l, trace.hidden[l]);
        if (!opt.massive) continue;
        const auto h = trace.hidden[l].contiguous();
        for (int64_t i = 0; i < h.numel(); ++i) abs_values[l].push_back(std::abs(double(h.data()[i])));
      }
      for (int64_t l = 0; l < cfg.n_layers; ++l) {
        r.keys.add(l, trace.keys[l]);
        r.values.add(l, trace.values[l]);
      }
    }
    r.samples += B;
  }
  r.mean_loss = loss_count ? loss_sum / double(loss_count) : 0.0;
  if (norms && opt.massive)
    for (auto& v : abs_values) r.massive.push_back(massive_activations(Tensor<double>::from({int64_t(v.size())}, v)));
  return r;
}

}  // namespace sinklab::probe
