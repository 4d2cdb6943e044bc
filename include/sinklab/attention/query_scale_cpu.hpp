#pragma once
// The CPU loops of Note [query scale] (query_scale.hpp) and the wrappers the CPU entry points call.
#include <cstddef>
#include <vector>

#include "sinklab/attention/params.hpp"
#include "sinklab/attention/query_scale.hpp"

namespace sinklab::attention {
namespace query_scale {

// q' = e^{θ_h} q over (B, H, S, D).
template <class T>
std::vector<T> scaled(const AttentionParams<T>& p, const T* q, const T* theta) {
  std::vector<T> out(p.q_size());
  const std::size_t per_head = std::size_t(p.S) * p.D;
  const long BH = long(p.B) * p.H;
#pragma omp parallel for schedule(static)
  for (long bh = 0; bh < BH; ++bh) {
    const T f = QueryScale::factor(theta[bh % p.H]);
    const std::size_t o = std::size_t(bh) * per_head;
    for (std::size_t e = 0; e < per_head; ++e) out[o + e] = f * q[o + e];
  }
  return out;
}

// dθ_h = Σ q'·dq' over (b, i, d), in a fixed order; then dq = e^{θ_h} dq' in place.
template <class T>
void scale_backward(const AttentionParams<T>& p, const T* qs, const T* theta, T* dq, T* dtheta) {
  const std::size_t per_head = std::size_t(p.S) * p.D;
#pragma omp parallel for schedule(static)
  for (int h = 0; h < p.H; ++h) {
    const T f = QueryScale::factor(theta[h]);
    T acc = T(0);
    for (int b = 0; b < p.B; ++b) {
      const std::size_t o = (std::size_t(b) * p.H + h) * per_head;
      for (std::size_t e = 0; e < per_head; ++e) {
        acc += qs[o + e] * dq[o + e];
        dq[o + e] *= f;
      }
    }
    dtheta[h] = acc;
  }
}

// Runs `base(inputs with q')` for a query-scaled V; checks the inputs against V's whole list first.
template <class V, class T, class F>
void forward(const AttentionParams<T>& p, const Inputs<T>& in, F&& base) {
  check_inputs(V::params, p, in, "attention");
  const ParamSpec& s = V::kernel::query_log_scale;
  const std::vector<T> qs = scaled(p, in.q, in[s]);
  Inputs<T> scaled_in = in;
  scaled_in.q = qs.data();
  base(scaled_in);
}

// Runs `base(inputs with q', g)`, which writes dq' into g.dq, then turns it into dq and dθ.
template <class V, class T, class F>
void backward(const AttentionParams<T>& p, const Inputs<T>& in, Grads<T>& g, F&& base) {
  check_inputs(V::params, p, in, "attention");
  check_grads(V::params, p, g, "attention backward");
  const ParamSpec& s = V::kernel::query_log_scale;
  const std::vector<T> qs = scaled(p, in.q, in[s]);
  Inputs<T> scaled_in = in;
  scaled_in.q = qs.data();
  base(scaled_in);
  scale_backward(p, qs.data(), in[s], g.dq, g[s]);
}

}  // namespace query_scale
}  // namespace sinklab::attention
