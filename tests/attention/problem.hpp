#pragma once
// Test fixture for attention: random inputs for every pointer a variant may need, runners for the fused op and the
// reference through AnyAttention, and a comparison of all outputs and gradients.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "sinklab/attention.hpp"
#include "support/check_close.hpp"

namespace sinklab::test {

namespace attn = sinklab::attention;

template <class T>
struct Problem {
  attn::AttentionParams<T> p;
  std::vector<T> q, k, v, g_in, g_out, nw, nb, sink, ks, vs, w1, w2, dout;

  attn::Inputs<T> inputs() const {
    attn::Inputs<T> in;
    auto ptr = [](const std::vector<T>& x) { return x.empty() ? nullptr : x.data(); };
    in.q = ptr(q), in.k = ptr(k), in.v = ptr(v), in.g_in = ptr(g_in), in.g_out = ptr(g_out);
    in.norm_weight = ptr(nw), in.norm_bias = ptr(nb), in.sink_logit = ptr(sink);
    in.k_slot = ptr(ks), in.v_slot = ptr(vs), in.mlp_w1 = ptr(w1), in.mlp_w2 = ptr(w2);
    return in;
  }

  template <class U>
  Problem<U> cast() const {
    Problem<U> r;
    r.p.B = p.B, r.p.H = p.H, r.p.Hkv = p.Hkv, r.p.S = p.S, r.p.D = p.D, r.p.scale = U(p.scale), r.p.window = p.window;
    auto c = [](const std::vector<T>& x) { return std::vector<U>(x.begin(), x.end()); };
    r.q = c(q), r.k = c(k), r.v = c(v), r.g_in = c(g_in), r.g_out = c(g_out), r.nw = c(nw), r.nb = c(nb);
    r.sink = c(sink), r.ks = c(ks), r.vs = c(vs), r.w1 = c(w1), r.w2 = c(w2), r.dout = c(dout);
    return r;
  }
};

// qk_gain multiplies q and k (large scores for the stability tests).
template <class T, class U>
Problem<T> make_problem(const attn::AnyAttention<U>& a, int B, int H, int Hkv, int S, int D, std::uint64_t seed,
                        double qk_gain = 1.0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> n01(0.0, 1.0);
  std::uniform_real_distribution<double> u01(0.1, 0.9);
  auto normal = [&](std::size_t n, double sd, double mean = 0.0) {
    std::vector<T> x(n);
    for (auto& e : x) e = T(mean + sd * n01(rng));
    return x;
  };
  auto uniform = [&](std::size_t n) {
    std::vector<T> x(n);
    for (auto& e : x) e = T(u01(rng));
    return x;
  };
  Problem<T> pr;
  pr.p.B = B, pr.p.H = H, pr.p.Hkv = Hkv, pr.p.S = S, pr.p.D = D, pr.p.window = a.window();
  const auto& t = a.traits();
  pr.q = normal(pr.p.q_size(), qk_gain);
  pr.k = normal(pr.p.kv_size(), qk_gain);
  pr.v = normal(pr.p.kv_size(), 1.0);
  if (t.in_gate) pr.g_in = uniform(pr.p.row_count());
  if (t.out_gate) pr.g_out = uniform(pr.p.row_count() * (t.out_gate_elementwise ? D : 1));
  if (t.norm_weight) pr.nw = normal(D, 0.2, 1.0);
  if (t.norm_bias) pr.nb = normal(D, 0.2);
  if (t.sink_logit) pr.sink = normal(H, 1.0);
  if (a.window().slot != attn::SlotKind::none) pr.ks = normal(std::size_t(H) * D, qk_gain);
  if (a.window().slot == attn::SlotKind::kv) pr.vs = normal(std::size_t(H) * D, 1.0);
  if (t.mlp) {
    pr.w1 = normal(std::size_t(D) * D, 1.0 / std::sqrt(double(D)));
    pr.w2 = normal(std::size_t(D) * D, 1.0 / std::sqrt(double(D)));
  }
  pr.dout = normal(pr.p.q_size(), 1.0);
  return pr;
}

template <class T>
struct Result {
  std::vector<T> o, m, l, u;
  std::vector<T> dq, dk, dv, dg_in, dg_out, dnw, dnb, dsink, dks, dvs, dw1, dw2;
  std::vector<T> qf, kf, qh, kh;  // Saved's optional feature cache (empty: not kept)

  void size_like(const Problem<T>& pr) {
    const auto& p = pr.p;
    o.assign(p.q_size(), T(0)), u.assign(p.q_size(), T(0)), m.assign(p.row_count(), T(0)),
        l.assign(p.row_count(), T(0));
    dq.assign(pr.q.size(), T(0)), dk.assign(pr.k.size(), T(0)), dv.assign(pr.v.size(), T(0));
    dg_in.assign(pr.g_in.size(), T(0)), dg_out.assign(pr.g_out.size(), T(0)), dnw.assign(pr.nw.size(), T(0));
    dnb.assign(pr.nb.size(), T(0)), dsink.assign(pr.sink.size(), T(0)), dks.assign(pr.ks.size(), T(0));
    dvs.assign(pr.vs.size(), T(0)), dw1.assign(pr.w1.size(), T(0)), dw2.assign(pr.w2.size(), T(0));
  }
  // Keep φ(q), φ(k) (and the MLP's hidden rows) between forward and backward, as nn::fused_attention does.
  void keep_features(const attn::VariantTraits& t, const Problem<T>& pr) {
    if (t.feature_kernel) qf.assign(pr.q.size(), T(0)), kf.assign(pr.k.size(), T(0));
    if (t.mlp) qh.assign(pr.q.size(), T(0)), kh.assign(pr.k.size(), T(0));
  }
  attn::Outputs<T> outputs() {
    auto ptr = [](std::vector<T>& x) { return x.empty() ? nullptr : x.data(); };
    return {o.data(), {m.data(), l.data(), u.data(), ptr(qf), ptr(kf), ptr(qh), ptr(kh)}};
  }
  attn::Grads<T> grads() {
    auto ptr = [](std::vector<T>& x) { return x.empty() ? nullptr : x.data(); };
    attn::Grads<T> g;
    g.dq = ptr(dq), g.dk = ptr(dk), g.dv = ptr(dv), g.dg_in = ptr(dg_in), g.dg_out = ptr(dg_out);
    g.dnorm_weight = ptr(dnw), g.dnorm_bias = ptr(dnb), g.dsink_logit = ptr(dsink), g.dk_slot = ptr(dks);
    g.dv_slot = ptr(dvs), g.dmlp_w1 = ptr(dw1), g.dmlp_w2 = ptr(dw2);
    return g;
  }
  // (name, values) of every gradient present
  std::vector<std::pair<std::string, const std::vector<T>*>> grad_list() const {
    std::vector<std::pair<std::string, const std::vector<T>*>> r{{"dq", &dq}, {"dk", &dk}, {"dv", &dv}};
    auto add = [&](const char* n, const std::vector<T>& x) {
      if (!x.empty()) r.emplace_back(n, &x);
    };
    add("dg_in", dg_in), add("dg_out", dg_out), add("dnorm_weight", dnw), add("dnorm_bias", dnb);
    add("dsink_logit", dsink), add("dk_slot", dks), add("dv_slot", dvs), add("dmlp_w1", dw1), add("dmlp_w2", dw2);
    return r;
  }
};

// Handles are per dtype: a double handle runs a float problem through the float handle of the same (name, window).
// Feature kernels keep their mapped q, k for the backward unless keep_features is false.
template <class T, class U>
Result<T> run_fused(const attn::AnyAttention<U>& handle, const Problem<T>& pr, bool backward = true,
                    bool keep_features = true) {
  const auto a = attn::AnyAttention<T>::create(handle.name(), handle.window());
  Result<T> r;
  r.size_like(pr);
  if (keep_features) r.keep_features(a.traits(), pr);
  const auto in = pr.inputs();
  auto out = r.outputs();
  a.forward(pr.p, in, out);
  if (backward) {
    auto g = r.grads();
    a.backward(pr.p, in, out.saved, pr.dout.data(), g);
  }
  return r;
}

template <class T, class U>
Result<T> run_reference(const attn::AnyAttention<U>& handle, const Problem<T>& pr, bool backward = true) {
  const auto a = attn::AnyAttention<T>::create(handle.name(), handle.window());
  Result<T> r;
  r.size_like(pr);
  const auto in = pr.inputs();
  a.reference_forward(pr.p, in, r.o.data());
  if (backward) {
    auto g = r.grads();
    a.reference_backward(pr.p, in, pr.dout.data(), g);
  }
  return r;
}

// |a − b| ≤ tol·(|b| + 0.1·max|b| + 1e-2): relative, with an absolute floor scaled to the array's magnitude
// (gradients summed over many terms cancel; their absolute error follows the magnitude of the array) and a floor
// for arrays that are exactly zero in exact arithmetic (an out gate before a scale-invariant norm).
template <class A, class B>
void check_rel(const std::vector<A>& a, const std::vector<B>& b, double tol, const std::string& what) {
  REQUIRE(a.size() == b.size());
  double mx = 0;
  for (auto x : b) mx = std::max(mx, std::abs(double(x)));
  check_close(a.data(), b.data(), a.size(), tol, tol * (0.1 * mx + 1e-2), what);
}

template <class T>
bool all_finite(const Result<T>& r) {
  auto ok = [](const std::vector<T>& x) {
    return std::all_of(x.begin(), x.end(), [](T e) { return std::isfinite(double(e)); });
  };
  if (!ok(r.o)) return false;
  for (const auto& [n, g] : r.grad_list())
    if (!ok(*g)) return false;
  return true;
}

template <class A, class B>
void check_result(const Result<A>& got, const Result<B>& want, double tol, const std::string& what,
                  bool backward = true) {
  check_rel(got.o, want.o, tol, what + " o");
  if (!backward) return;
  const auto g = got.grad_list();
  const auto w = want.grad_list();
  REQUIRE(g.size() == w.size());
  for (std::size_t i = 0; i < g.size(); ++i) check_rel(*g[i].second, *w[i].second, tol, what + " " + g[i].first);
}

template <class U>
std::string describe(const attn::AnyAttention<U>& a, int S, int D) {
  return std::string(a.name()) + " [" + attn::to_string(a.window().mask) + ", S=" + std::to_string(S) +
         ", D=" + std::to_string(D) + "]";
}

}  // namespace sinklab::test
