// The equivalence classes of DESIGN §3.1, proven on the fused op rather than assumed.
#include "problem.hpp"

using namespace sinklab::test;
namespace attn = sinklab::attention;

namespace {
Result<double> fused(const char* name, const Problem<double>& pr) {
  return run_fused(attn::AnyAttention<double>::create(name, pr.p.window), pr);
}
// pr with the gates `name` needs, copied from `src` where both have them
Problem<double> problem_for(const char* name, std::uint64_t seed) {
  return make_problem<double>(attn::AnyAttention<double>::create(name), 2, 2, 1, 70, 32, seed);
}
// The divide-by-count class materialised from its definition, independent of the policy code:
// o_i = g_i · Σ_{j≤i} exp(min(s_ij, 5)) v_j / (i+1), with g_i = 1 when `gated` is false.
std::vector<double> divs_materialised(const Problem<double>& pr, bool gated) {
  const auto& p = pr.p;
  std::vector<double> o(p.q_size(), 0.0);
  const double scale = 1.0 / std::sqrt(double(p.D));
  for (int b = 0; b < p.B; ++b)
    for (int h = 0; h < p.H; ++h)
      for (int i = 0; i < p.S; ++i) {
        const std::size_t ri = (std::size_t(b) * p.H + h) * p.S + i;
        const double g = gated ? pr.at("g_out")[ri] : 1.0;
        for (int j = 0; j <= i; ++j) {
          double s = 0;
          for (int d = 0; d < p.D; ++d) s += pr.q[ri * p.D + d] * pr.k[((std::size_t(b) * p.Hkv) * p.S + j) * p.D + d];
          const double a = g * std::exp(std::min(s * scale, 5.0)) / (i + 1);
          for (int d = 0; d < p.D; ++d) o[ri * p.D + d] += a * pr.v[((std::size_t(b) * p.Hkv) * p.S + j) * p.D + d];
        }
      }
  return o;
}
}  // namespace

// The registry gives the members of a class one type, so comparing them with each other alone would prove nothing:
// each member is checked against the class's materialised definition instead.
TEST_CASE("softmax_divs == gated_softmax_no_gate_no_norm == Σ exp(min(s,5)) v / n_i", "[attention][equivalence]") {
  const auto pr = problem_for("softmax_divs", 1);
  const auto o = divs_materialised(pr, false);
  check_rel(fused("softmax_divs", pr).o, o, 1e-12, "softmax_divs");
  check_rel(fused("gated_softmax_no_gate_no_norm", pr).o, o, 1e-12, "gated_softmax_no_gate_no_norm");
}

TEST_CASE("softmax_divS_gate == softmax_divS_gatev2 == gated_softmax_no_in_gate_no_norm == diag(g)·A·V",
          "[attention][equivalence]") {
  const auto pr = problem_for("softmax_divS_gate", 2);
  // gatev2's definition, materialised: rows of A = exp(min(s,5))/n_i scaled by g_i, then A·V
  const auto o = divs_materialised(pr, true);
  for (const char* name : {"softmax_divS_gate", "softmax_divS_gatev2", "gated_softmax_no_in_gate_no_norm"}) {
    INFO(name);
    check_rel(fused(name, pr).o, o, 1e-12, "diag(g)·A·V");
  }
}

TEST_CASE("an out gate before L2 cancels: gated_softmax_out_gate_L2norm_nodivS_noclamp == no_gate (forward)",
          "[attention][equivalence]") {
  const auto pr = problem_for("gated_softmax_out_gate_L2norm_nodivS_noclamp", 3);  // random gates in (0.1, 0.9)
  const auto gated = fused("gated_softmax_out_gate_L2norm_nodivS_noclamp", pr);
  const auto plain = fused("gated_softmax_no_gate_L2norm_nodivS_noclamp", pr);
  check_rel(gated.o, plain.o, 1e-12, "forward");
  check_rel(gated.dq, plain.dq, 1e-9, "dq");
  check_rel(gated.dk, plain.dk, 1e-9, "dk");
  check_rel(gated.dv, plain.dv, 1e-9, "dv");
  for (double g : gated.grad("g_out")) REQUIRE(std::abs(g) < 1e-9);  // the gate has no effect, so no gradient
  // the post-norm gate does not cancel
  const auto post = fused("gated_softmax_post_out_gate_L2norm_nodivS_noclamp", pr);
  double diff = 0;
  for (std::size_t i = 0; i < post.o.size(); ++i) diff = std::max(diff, std::abs(post.o[i] - plain.o[i]));
  REQUIRE(diff > 1e-3);
}

TEST_CASE("softmax_detach_denom == softmax_clamp_denom forward; backward drops exactly the denominator term",
          "[attention][equivalence]") {
  // one head, so the explicit term below is short to write
  auto pr = make_problem<double>(attn::AnyAttention<double>::create("softmax_clamp_denom"), 1, 1, 1, 40, 16, 4);
  const auto normal = fused("softmax_clamp_denom", pr);
  const auto detached = fused("softmax_detach_denom", pr);
  check_rel(detached.o, normal.o, 1e-14, "forward");
  check_rel(detached.dv, normal.dv, 1e-12, "dv (the denominator does not depend on v)");
  // dq_normal − dq_detached = Σ_j scale·κ'(s_ij)·dℓ_i·k_j with dℓ_i = −(do_i·u_i)/ρ_i·[Σ_i > 1]
  const int S = pr.p.S, D = pr.p.D;
  const double scale = 1.0 / std::sqrt(double(D));
  std::vector<double> extra(std::size_t(S) * D, 0.0);
  double max_extra = 0;
  for (int i = 0; i < S; ++i) {
    std::vector<double> s(i + 1), a(D, 0.0);
    double l = 0;
    for (int j = 0; j <= i; ++j) {
      double x = 0;
      for (int d = 0; d < D; ++d) x += pr.q[i * D + d] * pr.k[j * D + d];
      s[j] = x * scale;
      const double w = std::exp(std::min(s[j], 5.0));
      l += w;
      for (int d = 0; d < D; ++d) a[d] += w * pr.v[j * D + d];
    }
    const double rho = std::max(l, 1.0);
    double du_u = 0;
    for (int d = 0; d < D; ++d) du_u += pr.dout[i * D + d] * a[d] / rho;
    const double dl = l > 1.0 ? -du_u / rho : 0.0;
    for (int j = 0; j <= i; ++j) {
      const double ds = (s[j] <= 5.0 ? std::exp(s[j]) : 0.0) * dl;
      for (int d = 0; d < D; ++d) extra[i * D + d] += scale * ds * pr.k[j * D + d];
    }
  }
  std::vector<double> diff(extra.size());
  for (std::size_t e = 0; e < diff.size(); ++e) {
    diff[e] = normal.dq[e] - detached.dq[e];
    max_extra = std::max(max_extra, std::abs(extra[e]));
  }
  REQUIRE(max_extra > 1e-3);  // the term is really there
  check_rel(diff, extra, 1e-9, "dq_normal − dq_detached");
}

// The learnable per-head temperature (kernel::LearnedTemperature, Note [query scale]): at θ = 0 it is softmax to the
// bit; at θ ≠ 0 its output is softmax over e^{θ_h}·s written out here (one θ per head, so a scale applied to the
// wrong head or not at all fails), and dθ_h = Σ_ij ∂L/∂s_ij · s_ij is checked from that definition too. The gradcheck
// and the CUDA emulator pick the variant up from the registry without naming it.
TEST_CASE("softmax_temperature: θ = 0 is softmax; θ ≠ 0 is softmax(e^θ s) written out", "[attention][equivalence]") {
  const auto temp = attn::AnyAttention<double>::create("softmax_temperature");
  auto pr = make_problem<double>(temp, 1, 2, 1, 40, 16, 9);
  REQUIRE(pr.specs.size() == 1);
  REQUIRE(pr.specs[0].key == "log_temperature");
  auto& theta = pr.at("log_temperature");
  std::fill(theta.begin(), theta.end(), 0.0);
  Problem<double> plain = pr;
  plain.specs.clear();
  plain.extra.clear();
  const auto at_zero = fused("softmax_temperature", pr);
  const auto softmax = fused("softmax", plain);
  REQUIRE(at_zero.o == softmax.o);
  REQUIRE(at_zero.dq == softmax.dq);
  REQUIRE(at_zero.dk == softmax.dk);
  REQUIRE(at_zero.dv == softmax.dv);

  theta = {0.7, -0.4};
  const auto got = fused("softmax_temperature", pr);
  const auto& p = pr.p;
  const double scale = 1.0 / std::sqrt(double(p.D));
  std::vector<double> o(p.q_size(), 0.0), dtheta(p.H, 0.0);
  for (int h = 0; h < p.H; ++h)
    for (int i = 0; i < p.S; ++i) {
      const std::size_t ri = std::size_t(h) * p.S + i;
      std::vector<double> s(i + 1), w(i + 1);
      double mx = -1e300, l = 0;
      for (int j = 0; j <= i; ++j) {
        double x = 0;
        for (int d = 0; d < p.D; ++d) x += pr.q[ri * p.D + d] * pr.k[std::size_t(j) * p.D + d];
        s[j] = std::exp(theta[h]) * scale * x;
        mx = std::max(mx, s[j]);
      }
      for (int j = 0; j <= i; ++j) l += (w[j] = std::exp(s[j] - mx));
      // o_i = Σ_j w_j v_j / l; ∂L/∂s_j = p_j (dout·v_j − dout·o_i); dθ_h += Σ_j ∂L/∂s_j · s_j
      double do_o = 0;
      for (int j = 0; j <= i; ++j)
        for (int d = 0; d < p.D; ++d) o[ri * p.D + d] += w[j] / l * pr.v[std::size_t(j) * p.D + d];
      for (int d = 0; d < p.D; ++d) do_o += pr.dout[ri * p.D + d] * o[ri * p.D + d];
      for (int j = 0; j <= i; ++j) {
        double do_v = 0;
        for (int d = 0; d < p.D; ++d) do_v += pr.dout[ri * p.D + d] * pr.v[std::size_t(j) * p.D + d];
        dtheta[h] += w[j] / l * (do_v - do_o) * s[j];
      }
    }
  check_rel(got.o, o, 1e-12, "softmax_temperature o vs written out");
  check_rel(got.grad("log_temperature"), dtheta, 1e-10, "softmax_temperature dθ vs written out");
  double moved = 0;
  for (std::size_t e = 0; e < o.size(); ++e) moved = std::max(moved, std::abs(o[e] - softmax.o[e]));
  CHECK(moved > 1e-3);  // the temperature really changed the output
}
