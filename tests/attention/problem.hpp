#pragma once
// Test fixture for attention: random inputs for every tensor a variant takes, runners for the fused op and the
// reference through AnyAttention, and a comparison of all outputs and gradients.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "sinklab/attention.hpp"
#include "support/check_close.hpp"

namespace sinklab::test {

namespace attn = sinklab::attention;

// The handle's own tensors (its list less what its window leaves out, Note [parameter lists]) are `extra`, by key;
// the fixture never names them, so a new policy's tensors are filled, passed and compared with no edit here.
template <class T>
struct Problem {
  attn::AttentionParams<T> p;
  std::vector<T> q, k, v, dout;
  std::vector<attn::ParamSpec> specs;
  std::map<std::string, std::vector<T>, std::less<>> extra;

  const std::vector<T>& at(std::string_view key) const { return extra.find(key)->second; }
  std::vector<T>& at(std::string_view key) { return extra.find(key)->second; }
  bool has(std::string_view key) const { return extra.count(key) > 0; }

  attn::Inputs<T> inputs() const {
    attn::Inputs<T> in{q.data(), k.data(), v.data()};
    for (const auto& s : specs) in.set(s, at(s.key).data());
    return in;
  }

  template <class U>
  Problem<U> cast() const {
    Problem<U> r;
    r.p.B = p.B, r.p.H = p.H, r.p.Hkv = p.Hkv, r.p.S = p.S, r.p.D = p.D, r.p.scale = U(p.scale), r.p.window = p.window;
    auto c = [](const std::vector<T>& x) { return std::vector<U>(x.begin(), x.end()); };
    r.q = c(q), r.k = c(k), r.v = c(v), r.dout = c(dout), r.specs = specs;
    for (const auto& [key, x] : extra) r.extra[key] = c(x);
    return r;
  }
};

// Values for one declared tensor, by what it is: gates in (0.1, 0.9); a norm weight near 1; keys (slot keys) at
// the scores' gain; linear maps at 1/√D; everything else N(0, 1) (a norm bias N(0, 0.2²)).
template <class Normal, class Uniform>
auto draw_param(const attn::ParamSpec& s, std::size_t n, int D, double qk_gain, Normal& normal, Uniform& uniform) {
  if (s.source == attn::Source::activation) return uniform(n);
  switch (s.init) {
    case attn::Init::ones: return normal(n, 0.2, 1.0);
    case attn::Init::linear: return normal(n, 1.0 / std::sqrt(double(D)));
    case attn::Init::slot_normal: return normal(n, s.presence == attn::Presence::key_slot ? qk_gain : 1.0);
    default: return normal(n, s.extent == attn::Extent::dim ? 0.2 : 1.0);
  }
}

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
  pr.q = normal(pr.p.q_size(), qk_gain);
  pr.k = normal(pr.p.kv_size(), qk_gain);
  pr.v = normal(pr.p.kv_size(), 1.0);
  pr.specs = a.params();
  for (const auto& s : pr.specs)
    pr.extra[std::string(s.key)] = draw_param(s, s.numel(B, H, S, D), D, qk_gain, normal, uniform);
  pr.dout = normal(pr.p.q_size(), 1.0);
  return pr;
}

template <class T>
struct Result {
  std::vector<T> o, m, l, u;
  std::vector<T> dq, dk, dv;
  std::vector<attn::ParamSpec> specs;
  std::map<std::string, std::vector<T>, std::less<>> dextra;  // by the input's key
  std::vector<T> qf, kf, qh, kh;  // Saved's optional feature cache (empty: not kept)

  const std::vector<T>& grad(std::string_view key) const { return dextra.find(key)->second; }

  void size_like(const Problem<T>& pr) {
    const auto& p = pr.p;
    o.assign(p.q_size(), T(0)), u.assign(p.q_size(), T(0)), m.assign(p.row_count(), T(0)),
        l.assign(p.row_count(), T(0));
    dq.assign(pr.q.size(), T(0)), dk.assign(pr.k.size(), T(0)), dv.assign(pr.v.size(), T(0));
    specs = pr.specs;
    for (const auto& [key, x] : pr.extra) dextra[key].assign(x.size(), T(0));
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
    attn::Grads<T> g{dq.data(), dk.data(), dv.data()};
    for (const auto& s : specs) g.set(s, dextra.find(s.key)->second.data());
    return g;
  }
  // (name, values) of every gradient, in the list's order
  std::vector<std::pair<std::string, const std::vector<T>*>> grad_list() const {
    std::vector<std::pair<std::string, const std::vector<T>*>> r{{"dq", &dq}, {"dk", &dk}, {"dv", &dv}};
    for (const auto& s : specs) {
      std::string name = "d";  // (not "d" + key: GCC 12 warns falsely on that -Wrestrict)
      name += s.key;
      r.emplace_back(name, &grad(s.key));
    }
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
