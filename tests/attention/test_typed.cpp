// Header-only use without the instance library: typed tests over policy combinations that the registry does not
// name (score-map relu kernels, sliding window + prefix together), fused vs reference in double.
#include "problem.hpp"

using namespace sinklab::test;
namespace attn = sinklab::attention;
using namespace sinklab::attention;

using TypedVariants = std::tuple<
    Variant<kernel::Relu, Normalizer<row::RowSum<1e-6>>>,
    Variant<kernel::ClampedRelu<2>, Normalizer<row::DivCount, vec::RMSNorm<>>>,
    Variant<kernel::Exp, Normalizer<row::DivCount, vec::LayerNorm<>>, gate::Both<gate::Elementwise, gate::PostNorm>>,
    Variant<kernel::ClampedExp<3>, Normalizer<row::RowSumClampMin1, vec::None, grad::Detached>, gate::In>>;

TEMPLATE_LIST_TEST_CASE("header-only fused == reference", "[attention][typed]", TypedVariants) {
  using V = TestType;
  const int B = 1, H = 2, Hkv = 1, S = 67, D = 32;
  attn::AttentionParams<double> p{B, H, Hkv, S, D};
  p.window.mask = MaskKind::prefix;
  p.window.prefix = 5;
  std::mt19937_64 rng(11);
  std::normal_distribution<double> nd;
  auto vec = [&](std::size_t n, double mean = 0) {
    std::vector<double> x(n);
    for (auto& e : x) e = mean + nd(rng) * (mean != 0 ? 0.1 : 1.0);
    return x;
  };
  auto q = vec(p.q_size()), k = vec(p.kv_size()), v = vec(p.kv_size()), dout = vec(p.q_size());
  // the variant's own tensors, from its list (Note [parameter lists]): gates near 0.5, a norm weight near 1
  std::vector<std::vector<double>> extra;
  Inputs<double> in{q.data(), k.data(), v.data()};
  for (const ParamSpec& s : V::params) {
    if (!present(s, p.window)) continue;
    const double mean = s.source == Source::activation ? 0.5 : s.init == Init::ones ? 1.0 : 0.01;
    extra.push_back(vec(s.numel(B, H, S, D), mean));
    in.set(s, extra.back().data());
  }
  std::vector<double> o(p.q_size()), m(p.row_count()), l(p.row_count()), u(p.q_size()), oref(p.q_size());
  Outputs<double> out{o.data(), {m.data(), l.data(), u.data()}};
  fused_forward<V>(p, in, out);
  reference_forward<V>(p, in, oref.data());
  check_rel(o, oref, 1e-10, "forward");
  std::vector<std::string> names{"dq", "dk", "dv"};
  for (const ParamSpec& s : V::params)
    if (present(s, p.window)) names.push_back("d" + std::string(s.key));
  auto grads = [&](auto&& fn) {
    std::vector<std::vector<double>> gs{std::vector<double>(p.q_size()), std::vector<double>(p.kv_size()),
                                        std::vector<double>(p.kv_size())};
    for (const auto& x : extra) gs.emplace_back(x.size());
    Grads<double> g{gs[0].data(), gs[1].data(), gs[2].data()};
    std::size_t i = 3;
    for (const ParamSpec& s : V::params)
      if (present(s, p.window)) g.set(s, gs[i++].data());
    fn(g);
    return gs;
  };
  const auto gf = grads([&](Grads<double>& g) { fused_backward<V>(p, in, out.saved, dout.data(), g); });
  const auto gr = grads([&](Grads<double>& g) { reference_backward<V>(p, in, dout.data(), g); });
  REQUIRE(gf.size() == names.size());
  for (std::size_t i = 0; i < gf.size(); ++i) check_rel(gf[i], gr[i], 1e-9, names[i]);
}

// A window policy of one's own goes in the Variant's fourth slot and the op reads it (Window is a real axis): keys
// at an even distance behind the query only. Checked against softmax written out over those keys, and the
// gradients against the reference, which reads the same policy.
struct EvenOffsetCausal {
  static EvenOffsetCausal from(const WindowSpec&, int) { return {}; }
  bool visible(int i, int j) const { return j <= i && (i - j) % 2 == 0; }
  int count(int i, int S) const { return (i < S ? i : S - 1) / 2 + 1; }  // j = i, i − 2, …, ≥ 0
  TileClass classify(int, int i1, int j0, int) const { return j0 > i1 - 1 ? TileClass::empty : TileClass::partial; }
};

TEST_CASE("a Variant's own window policy is the one the op applies", "[attention][typed][window]") {
  using V = Variant<kernel::Exp, Normalizer<row::RowSum<>>, gate::None, EvenOffsetCausal>;
  const int B = 1, H = 2, Hkv = 2, S = 70, D = 16;
  attn::AttentionParams<double> p{B, H, Hkv, S, D};
  p.window.mask = MaskKind::full;  // the runtime spec is ignored by this policy
  std::mt19937_64 rng(5);
  std::normal_distribution<double> nd;
  auto vec = [&](std::size_t n) {
    std::vector<double> x(n);
    for (auto& e : x) e = nd(rng);
    return x;
  };
  auto q = vec(p.q_size()), k = vec(p.kv_size()), v = vec(p.kv_size()), dout = vec(p.q_size());
  Inputs<double> in{q.data(), k.data(), v.data()};
  std::vector<double> o(p.q_size()), m(p.row_count()), l(p.row_count()), u(p.q_size()), want(p.q_size());
  Outputs<double> out{o.data(), {m.data(), l.data(), u.data()}};
  fused_forward<V>(p, in, out);
  for (int h = 0; h < H; ++h)
    for (int i = 0; i < S; ++i) {
      const double* qi = q.data() + (std::size_t(h) * S + i) * D;
      std::vector<double> w(S, 0.0);
      double mx = -1e300, z = 0;
      for (int j = i; j >= 0; j -= 2) {
        const double* kj = k.data() + (std::size_t(h) * S + j) * D;
        double s = 0;
        for (int d = 0; d < D; ++d) s += qi[d] * kj[d];
        w[j] = s / std::sqrt(double(D));
        mx = std::max(mx, w[j]);
      }
      for (int j = i; j >= 0; j -= 2) z += (w[j] = std::exp(w[j] - mx));
      for (int j = i; j >= 0; j -= 2)
        for (int d = 0; d < D; ++d)
          want[(std::size_t(h) * S + i) * D + d] += w[j] / z * v[(std::size_t(h) * S + j) * D + d];
    }
  check_rel(o, want, 1e-12, "forward over even offsets");
  std::vector<double> gq(p.q_size()), gk(p.kv_size()), gv(p.kv_size()), rq(p.q_size()), rk(p.kv_size()),
      rv(p.kv_size());
  Grads<double> gf{gq.data(), gk.data(), gv.data()}, gr{rq.data(), rk.data(), rv.data()};
  fused_backward<V>(p, in, out.saved, dout.data(), gf);
  reference_backward<V>(p, in, dout.data(), gr);
  check_rel(gq, rq, 1e-10, "dq");
  check_rel(gk, rk, 1e-10, "dk");
  check_rel(gv, rv, 1e-10, "dv");
}

// Note [address-independent SIMD] (phi_rows_cpu.hpp): the block path of elu + 1 gives the same bits wherever its
// buffers sit. Eigen's SIMD exp and std::exp differ in the last bit for some inputs, and a Map of unknown alignment
// sends its unaligned head through the scalar one, so before the fix these bits followed the heap's addresses.
TEST_CASE("elu + 1 block path: the same bits at every buffer alignment", "[attention][typed]") {
  using Rows = kernel::PhiRows<kernel::phi::EluPlus1>;
  const long n = 37;
  const int D = 16;  // n·D = 592: two full blocks of 256 and a padded one
  const std::size_t len = std::size_t(n) * D;
  std::mt19937_64 rng(5);
  std::normal_distribution<float> nd(-1.f, 2.f);  // mostly negative: the exp side
  std::vector<float> x(len), dy(len);
  for (auto& e : x) e = nd(rng);
  for (auto& e : dy) e = nd(rng);
  auto run = [&](int offset, std::vector<float>& y, std::vector<float>& dx) {
    std::vector<float> xb(len + 16), dyb(len + 16), yb(len + 16), dxb(len + 16);
    std::copy(x.begin(), x.end(), xb.begin() + offset);
    std::copy(dy.begin(), dy.end(), dyb.begin() + offset);
    float* none = nullptr;
    Rows::forward(xb.data() + offset, yb.data() + offset, n, D, kernel::PhiParams<float>{}, none);
    Rows::backward(xb.data() + offset, dyb.data() + offset, dxb.data() + offset, n, D, kernel::PhiParams<float>{},
                   none, none, static_cast<const float*>(none));
    y.assign(yb.begin() + offset, yb.begin() + offset + long(len));
    dx.assign(dxb.begin() + offset, dxb.begin() + offset + long(len));
  };
  std::vector<float> y0, dx0;
  run(0, y0, dx0);
  for (int offset = 1; offset < 16; ++offset) {
    std::vector<float> y, dx;
    run(offset, y, dx);
    INFO("offset " << offset << " floats");
    REQUIRE(y == y0);
    REQUIRE(dx == dx0);
  }
  for (std::size_t e = 0; e < len; ++e) {  // and it is elu + 1 (to the last bits of exp)
    const float want = x[e] > 0 ? x[e] + 1 : std::exp(x[e]);
    REQUIRE(std::abs(y0[e] - want) <= 4e-7f * std::max(1.f, std::abs(want)));
  }
}
