#pragma once
// The scalar summary of a probe that `sinklab-pretrain` logs to metrics.jsonl at every probe interval (and the
// experiment runner tabulates), so a sink can be followed over training rather than seen only at the end:
//   sink1, sink (k = 1..10)   Sink_k^ε in % (DESIGN §4), on the probe map
//   alpha1                    mean α_1 over (sample, layer, head), probe map (row-normalised proxy for
//                             unnormalised variants, as the sink paper's code)
//   alpha1_raw                the same on the raw coefficients κ/ρ: the mass really put on token 1
//   slot_alpha, slot_sink     with a K/KV/V bias slot: mean α_slot and the slot's Sink rate in %
//   h1_norm_ratio[l]          ‖h_1‖ / mean_{t>1} ‖h_t‖ of the residual stream (l = 0: embeddings); residual peak
//   v1_norm_ratio[l]          the same for the values of layer l; a sink's value drains towards 0
//   h1_norm_ratio_max, v1_norm_ratio_min   their extremes over layers
//   probe_loss                mean next-token loss on the probe sequences
#include <algorithm>
#include <nlohmann/json.hpp>

#include "sinklab/probe/runner.hpp"

namespace sinklab::probe {

inline nlohmann::json summary_record(const ProbeResult& r, double eps) {
  nlohmann::json j;
  j["sink_eps"] = eps;
  j["sink"] = r.sink.sink_rate(eps, 10);
  j["sink1"] = r.sink.sink_rate(eps, 1)[0];
  j["alpha1"] = r.sink.mean_alpha_k(1);
  if (r.sink_raw.samples() > 0) j["alpha1_raw"] = r.sink_raw.mean_alpha_k(1);
  if (r.sink.has_slot()) {
    j["slot_alpha"] = r.sink.mean_slot_alpha();
    j["slot_sink"] = r.sink.slot_sink_rate(eps);
  }
  if (r.hidden.samples() > 0) {
    const auto h = r.hidden.first_token_ratio(), v = r.values.first_token_ratio();
    j["h1_norm_ratio"] = h;
    j["v1_norm_ratio"] = v;
    j["h1_norm_ratio_max"] = *std::max_element(h.begin(), h.end());
    j["v1_norm_ratio_min"] = *std::min_element(v.begin(), v.end());
  }
  j["probe_loss"] = r.mean_loss;
  return j;
}

}  // namespace sinklab::probe
