// Large scores (q, k scaled ×10: |s| ~ 100) must not produce NaN/Inf for the variants meant to be stable, and the
// shifted float computation must still agree with the float64 reference.
#include <limits>

#include "problem.hpp"

using namespace sinklab::test;
namespace attn = sinklab::attention;

TEST_CASE("no NaN/Inf on large scores for stable variants", "[attention][stability]") {
  const char* names[] = {"softmax",
                         "softmax1",
                         "softmax_sink",
                         "gated_attention",
                         "gated_attention_headwise",
                         "softpick",
                         "softmax_clamp_denom",
                         "softmax_detach_denom",
                         "softmax_divs",
                         "softmax_divS_norm",
                         "gated_softmax",
                         "gated_softmax_no_gate_rmsnorm",
                         "gated_softmax_no_gate_L2norm_nodivS",
                         "gated_softmax_no_gate_L2norm_nodivS_noclamp",
                         "gated_softmax_out_gate_L2norm_nodivS_noclamp",
                         "gated_softmax_post_out_gate_L2norm_nodivS_noclamp",
                         "gated_softmax_no_gate_rmsnorm_nodivS",
                         "sigmoid",
                         "sigmoid_norm",
                         "sigmoid_bias",
                         "sigmoid_bias_per_row"};
  const char* name = GENERATE_REF(from_range(std::begin(names), std::end(names)));
  const auto a = attn::AnyAttention<double>::create(name);
  const auto pd = make_problem<double>(a, 1, 2, 1, 70, 64, 5, /*qk_gain=*/10.0);
  const auto f32 = run_fused(a, pd.cast<float>());
  INFO(name);
  REQUIRE(all_finite(f32));
  REQUIRE(all_finite(run_fused(a, pd)));
  // the exact shift keeps float accurate where the reference (double, absolute scale) is representable
  if (a.traits().use_shift) {
    const auto want = run_reference(a, pd);
    check_result(f32, want, 5e-3, std::string(name) + " f32 at |s|~100");
  }
}

// Note [Taylor as exp] (kernel.hpp): inside its exp range TaylorExp<80> returns e^s, which must be T_80(s) and
// T_79(s) correctly rounded; outside, the polynomial itself. The reference is long double e^x minus the series
// remainder Σ_{n≥N} xⁿ/n! (no cancellation, unlike Horner at negative x).
namespace {
long double taylor_exact(long double x, int N) {
  long double t = 1;
  for (int n = 1; n < N; ++n) t *= x / n;
  long double rem = 0;
  for (int n = N; n < N + 400; ++n) rem += (t *= x / n);
  return std::exp(x) - rem;
}
template <class T>
void check_taylor_range() {
  using K = attn::kernel::TaylorExp<80>;
  constexpr auto r = K::exp_range<T>();
  const double ulp = std::numeric_limits<T>::epsilon();
  double worst_w = 0, worst_dw = 0;
  for (double s = r.lo; s <= r.hi; s += 1.0 / 128) {
    const T st = T(s);
    const long double x = st;
    worst_w = std::max(worst_w, double(std::abs((K::weight(st, T(0)) - taylor_exact(x, 80)) / taylor_exact(x, 80))));
    worst_dw = std::max(worst_dw, double(std::abs((K::dweight(st, T(0)) - taylor_exact(x, 79)) / taylor_exact(x, 79))));
  }
  INFO("exp range [" << r.lo << ", " << r.hi << "], worst relative error " << worst_w << " / " << worst_dw);
  CHECK(worst_w <= ulp);
  CHECK(worst_dw <= ulp);
  // Outside: the polynomial. Well above the range it is visibly below e^s (T_N(s)/e^s = P(Poisson(s) < N) ≈ 0.87
  // at s = 70); well below, it is dominated by the (−s)^79/79! term and nowhere near e^s ≈ 1e−13.
  const T high = T(70), low = T(-30);
  CHECK(K::weight(high, T(0)) == K::horner(high, 80));
  CHECK(double(K::weight(high, T(0))) < 0.95 * std::exp(double(high)));
  CHECK(double(K::weight(high, T(0))) == Approx(double(taylor_exact(high, 80))).epsilon(1e-5));
  CHECK(K::weight(low, T(0)) == K::horner(low, 80));
  CHECK(std::abs(double(K::weight(low, T(0)))) > 1e-3);
}
}  // namespace

TEST_CASE("TaylorExp<80>: e^s inside its exact range, the polynomial outside", "[attention][stability]") {
  using K = attn::kernel::TaylorExp<80>;
  constexpr auto rf = K::exp_range<float>();
  constexpr auto rd = K::exp_range<double>();
  CHECK(rf.lo == -19.0625);  // |s|^79/79!·e^{|s|} ≤ 2^-25
  CHECK(rf.hi == 24.25);     // s^79/79! ≤ 2^-25
  CHECK(rd.lo == -15.4375);
  CHECK(rd.hi == 18.8125);
  check_taylor_range<float>();
  check_taylor_range<double>();

  // The whole-row CPU hooks agree with the scalar functors on a row that straddles both range ends.
  Eigen::Array<float, 1, Eigen::Dynamic> s(8), dp(8), p(8), ds(8);
  s << -30.f, -19.5f, -3.f, 0.f, 0.5f, 10.f, 24.f, 31.f;
  dp << 0.3f, -1.f, 2.f, 0.5f, -0.25f, 1.5f, -2.f, 0.75f;
  const float dl = 0.125f;
  const Eigen::Map<const Eigen::Array<float, 1, Eigen::Dynamic>> sm(s.data(), 8), dpm(dp.data(), 8);
  Eigen::Map<Eigen::Array<float, 1, Eigen::Dynamic>> pm(p.data(), 8), dsm(ds.data(), 8);
  const float l = K::forward_row(sm, 0.f, pm);
  float lsum = 0;
  for (int j = 0; j < 8; ++j) {
    CHECK(p[j] == Approx(K::weight(s[j], 0.f)).epsilon(1e-6));  // SIMD exp vs expf: an ulp apart
    lsum += p[j];
  }
  CHECK(l == Approx(lsum).epsilon(1e-6));
  K::backward_row(sm, 0.f, dpm, dl, pm, dsm);
  for (int j = 0; j < 8; ++j) {
    CHECK(p[j] == Approx(K::weight(s[j], 0.f)).epsilon(1e-6));
    CHECK(ds[j] == Approx(K::dweight(s[j], 0.f) * (dp[j] + dl)).epsilon(1e-6));
  }
}
