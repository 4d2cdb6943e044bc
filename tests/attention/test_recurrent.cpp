// Feature kernels: the O(S·d²) chunked recurrence == the quadratic fused form, forward and backward, with and without
// sink slots, with grouped KV heads and with an input gate; and the feature cache (Saved::q_features, ...) that lets
// the backward skip mapping q and k again.
#include "problem.hpp"

using namespace sinklab::test;
namespace attn = sinklab::attention;

namespace {
// Registered names whose traits satisfy `keep`; at least 8 of them, so a trait that stops being set fails here.
template <class Pred>
std::vector<std::string> names_where(Pred keep) {
  std::vector<std::string> names;
  for (const auto& r : attn::variant_table)
    if (keep(attn::AnyAttention<double>::create(r.name).traits())) names.push_back(r.name);
  REQUIRE(names.size() >= 8);
  return names;
}
}  // namespace

TEST_CASE("chunked recurrent form == quadratic form for feature kernels", "[attention][recurrent]") {
  const auto names = names_where([](const attn::VariantTraits& t) { return t.has_recurrent_form; });
  const auto name = GENERATE_REF(from_range(names));
  const int slot = GENERATE(0, 1, 2);
  attn::WindowSpec w;
  w.slot = static_cast<attn::SlotKind>(slot);
  const auto a = attn::AnyAttention<double>::create(name, w);
  const int H = GENERATE(2, 4), Hkv = H == 2 ? 1 : 2;  // GQA: each kv head serves 2 query heads
  const auto pd = make_problem<double>(a, 2, H, Hkv, 150, 32, 9 + slot);
  const auto quad = run_fused(a, pd);
  Result<double> rec;
  rec.size_like(pd);
  rec.keep_features(a.traits(), pd);
  auto out = rec.outputs();
  const auto in = pd.inputs();
  a.recurrent_forward(pd.p, in, out);
  auto g = rec.grads();
  a.recurrent_backward(pd.p, in, out.saved, pd.dout.data(), g);
  check_result(rec, quad, 1e-10, describe(a, 150, 32) + " recurrent vs quadratic");
  // float too
  const auto pf = pd.cast<float>();
  Result<float> recf;
  recf.size_like(pf);
  auto outf = recf.outputs();
  attn::AnyAttention<float>::create(name, w).recurrent_forward(pf.p, pf.inputs(), outf);
  check_rel(recf.o, quad.o, 2e-3, describe(a, 150, 32) + " recurrent f32");
}

// No registered feature variant has an input gate, so compose one: the recurrence must carry g_in·v and give dg_in.
TEST_CASE("recurrent form with an input gate == quadratic form", "[attention][recurrent]") {
  using Gated = attn::Variant<attn::kernel::Feature<attn::kernel::phi::EluPlus1>,
                              attn::Normalizer<attn::row::RowSum<>>, attn::gate::In>;
  // a registered in-gated variant sizes the problem (g_in, dg_in); the composed type runs on it
  const auto sizing = attn::AnyAttention<double>::create("gated_softmax_no_out_gate_no_norm");
  const auto pd = make_problem<double>(sizing, 2, 4, 2, 130, 32, 21);
  REQUIRE(pd.has("g_in"));
  const auto in = pd.inputs();
  Result<double> quad, rec;
  quad.size_like(pd);
  rec.size_like(pd);
  auto oq = quad.outputs(), orc = rec.outputs();
  auto gq = quad.grads(), gr = rec.grads();
  attn::fused_forward<Gated, double>(pd.p, in, oq);
  attn::fused_backward<Gated, double>(pd.p, in, oq.saved, pd.dout.data(), gq);
  attn::recurrent_forward<Gated, double>(pd.p, in, orc);
  attn::recurrent_backward<Gated, double>(pd.p, in, orc.saved, pd.dout.data(), gr);
  check_result(rec, quad, 1e-10, "EluPlus1 + in gate, recurrent vs quadratic");
  double gate_grad = 0;
  for (double x : rec.grad("g_in")) gate_grad += std::abs(x);
  CHECK(gate_grad > 0);  // the gate gradient is really there, not zeros on both sides
}

TEST_CASE("recurrent form rejects what it cannot do", "[attention][recurrent]") {
  const auto sliding = attn::AnyAttention<double>::create("linear_elu", {attn::MaskKind::sliding, 4});
  const auto pd = make_problem<double>(sliding, 1, 1, 1, 8, 4, 1);
  Result<double> r;
  r.size_like(pd);
  auto out = r.outputs();
  REQUIRE_THROWS_AS(sliding.recurrent_forward(pd.p, pd.inputs(), out), sinklab::Error);
  auto g = r.grads();
  REQUIRE_THROWS_WITH(sliding.recurrent_backward(pd.p, pd.inputs(), out.saved, pd.dout.data(), g),
                      Catch::Contains("causal without score bias"));
  REQUIRE_THROWS_WITH(attn::AnyAttention<double>::create("softmax").recurrent_forward(pd.p, pd.inputs(), out),
                      Catch::Contains("no recurrent form"));
}

namespace {
double sum_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += std::abs(a[i] - b[i]);
  return s;
}
}  // namespace

TEST_CASE("feature cache: kept φ(q), φ(k) give the backward the recomputed gradients", "[attention][features]") {
  const auto names = names_where([](const attn::VariantTraits& t) { return t.feature_kernel; });
  const auto name = GENERATE_REF(from_range(names));
  const int slot = GENERATE(0, 2);
  attn::WindowSpec w;
  w.slot = static_cast<attn::SlotKind>(slot);
  const auto a = attn::AnyAttention<double>::create(name, w);
  const auto& t = a.traits();
  const auto pd = make_problem<double>(a, 2, 4, 2, 130, 32, 31 + slot);
  const std::string what = describe(a, 130, 32);
  const auto recomputed = run_fused(a, pd, true, /*keep_features=*/false);
  const auto kept = run_fused(a, pd, true, /*keep_features=*/true);
  REQUIRE(recomputed.qf.empty());
  REQUIRE(!kept.qf.empty());
  REQUIRE(kept.qh.empty() == !t.mlp);
  check_result(kept, recomputed, 1e-12, what + " kept vs recomputed features");

  const auto in = pd.inputs();
  const int D = pd.p.D;
  if (t.mlp) {  // the kept rows are the MLP's: relu(W1·x) and W2·relu(W1·x), checked from the definition
    auto check_rows = [&](const std::vector<double>& x, const std::vector<double>& hid,
                          const std::vector<double>& phi, const char* which) {
      std::vector<double> want_h(x.size()), want_phi(x.size());
      for (std::size_t r = 0; r < x.size() / D; ++r)
        for (int e = 0; e < D; ++e) {
          double acc = 0;
          for (int d = 0; d < D; ++d) acc += pd.at("mlp_w1")[std::size_t(e) * D + d] * x[r * D + d];
          want_h[r * D + e] = std::max(acc, 0.0);
        }
      for (std::size_t r = 0; r < x.size() / D; ++r)
        for (int e = 0; e < D; ++e) {
          double acc = 0;
          for (int d = 0; d < D; ++d) acc += pd.at("mlp_w2")[std::size_t(e) * D + d] * want_h[r * D + d];
          want_phi[r * D + e] = acc;
        }
      check_rel(hid, want_h, 1e-12, what + " kept hidden " + which);
      check_rel(phi, want_phi, 1e-12, what + " kept features " + which);
    };
    check_rows(pd.q, kept.qh, kept.qf, "q");
    check_rows(pd.k, kept.kh, kept.kf, "k");
  }

  // The backward really reads the cache: a doubled φ(q) changes dk (dk_j sums ds_ij·φ(q_i)), zeroed hidden rows
  // change dW2.
  Result<double> poisoned = kept;
  for (auto& e : poisoned.qf) e *= 2;
  auto out = poisoned.outputs();
  auto g = poisoned.grads();
  a.backward(pd.p, in, out.saved, pd.dout.data(), g);
  CHECK(sum_abs_diff(poisoned.dk, kept.dk) > 1e-3 * sum_abs_diff(kept.dk, std::vector<double>(kept.dk.size())));
  if (t.mlp) {
    Result<double> no_hidden = kept;
    std::fill(no_hidden.qh.begin(), no_hidden.qh.end(), 0.0);
    auto out2 = no_hidden.outputs();
    auto g2 = no_hidden.grads();
    a.backward(pd.p, in, out2.saved, pd.dout.data(), g2);
    const auto& kept_dw2 = kept.grad("mlp_w2");
    CHECK(sum_abs_diff(no_hidden.grad("mlp_w2"), kept_dw2) >
          1e-3 * sum_abs_diff(kept_dw2, std::vector<double>(kept_dw2.size())));
  }

  // The recurrent forward fills the same cache.
  if (t.has_recurrent_form) {
    Result<double> rec;
    rec.size_like(pd);
    rec.keep_features(t, pd);
    auto orc = rec.outputs();
    a.recurrent_forward(pd.p, in, orc);
    check_rel(rec.qf, kept.qf, 1e-12, what + " recurrent φ(q)");
    check_rel(rec.kf, kept.kf, 1e-12, what + " recurrent φ(k)");
    if (t.mlp) check_rel(rec.qh, kept.qh, 1e-12, what + " recurrent hidden q");
  }
}
