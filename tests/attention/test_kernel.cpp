// Score kernels against their papers' definitions, computed here by hand: the sigmoid biases of kernel.hpp.
// With V = I (D = S, v_j = e_j) the output row o_i is row i of the weight matrix itself, so the fused op and the
// reference are read as materialised weights without the probe's normalisation.
#include "problem.hpp"

using namespace sinklab::test;
namespace attn = sinklab::attention;

namespace {

constexpr int S = 70;  // > one 64-row tile of the fused op

attn::WindowSpec window(attn::MaskKind mask, attn::SlotKind slot = attn::SlotKind::none) {
  attn::WindowSpec w;
  w.mask = mask;
  w.window = 5;
  w.prefix = 3;
  w.slot = slot;
  return w;
}

// The masks of DESIGN §3, written out: query i sees key j?
bool sees(attn::MaskKind mask, int i, int j) {
  switch (mask) {
    case attn::MaskKind::causal:
      return j <= i;
    case attn::MaskKind::sliding:
      return j <= i && j > i - 5;
    case attn::MaskKind::prefix:
      return j <= i || j < 3;
    default:
      return true;
  }
}

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

std::string label(const char* name, attn::MaskKind mask, attn::SlotKind slot) {
  return std::string(name) + " [" + attn::to_string(mask) + (slot == attn::SlotKind::k ? ", k slot]" : "]");
}

struct Weights {
  std::vector<double> fused, reference, expected;  // (H, S, S)
};

// w_ij = σ(s_ij − log n(i)) on visible keys, 0 elsewhere, against both ops; n(i) is the divisor under test.
template <class N>
Weights weights(const char* name, const attn::WindowSpec& w, N n_of_row) {
  const auto a = attn::AnyAttention<double>::create(name, w);
  auto pr = make_problem<double>(a, 1, 2, 1, S, S, 41);
  std::fill(pr.v.begin(), pr.v.end(), 0.0);
  for (int j = 0; j < S; ++j) pr.v[std::size_t(j) * S + j] = 1.0;  // v_j = e_j
  Weights r;
  r.fused = run_fused(a, pr, /*backward=*/false).o;
  r.reference = run_reference(a, pr, /*backward=*/false).o;
  r.expected.assign(r.fused.size(), 0.0);
  const double scale = 1.0 / std::sqrt(double(S));
  for (int h = 0; h < 2; ++h)
    for (int i = 0; i < S; ++i)
      for (int j = 0; j < S; ++j) {
        if (!sees(w.mask, i, j)) continue;
        double s = 0;
        for (int d = 0; d < S; ++d) s += pr.q[(std::size_t(h) * S + i) * S + d] * pr.k[std::size_t(j) * S + d];
        r.expected[(std::size_t(h) * S + i) * S + j] = sigmoid(s * scale - std::log(double(n_of_row(i))));
      }
  return r;
}

}  // namespace

TEST_CASE("sigmoid_bias: σ(s − log S), one bias for every row, whatever the mask; a sink slot is not counted",
          "[attention][kernel]") {
  for (auto mask : {attn::MaskKind::causal, attn::MaskKind::sliding, attn::MaskKind::prefix, attn::MaskKind::full})
    for (auto slot : {attn::SlotKind::none, attn::SlotKind::k}) {
      const auto w = window(mask, slot);
      const std::string what = label("sigmoid_bias", mask, slot);
      const auto r = weights("sigmoid_bias", w, [](int) { return S; });
      check_close(r.reference, r.expected, 1e-12, 1e-15, what + " reference");
      check_close(r.fused, r.expected, 1e-12, 1e-15, what + " fused");
    }
}

TEST_CASE("sigmoid_bias_per_row: σ(s − log n_i), n_i the keys row i sees, a sink slot counted", "[attention][kernel]") {
  for (auto mask : {attn::MaskKind::causal, attn::MaskKind::sliding, attn::MaskKind::prefix, attn::MaskKind::full})
    for (auto slot : {attn::SlotKind::none, attn::SlotKind::k}) {
      const auto w = window(mask, slot);
      const std::string what = label("sigmoid_bias_per_row", mask, slot);
      const auto r = weights("sigmoid_bias_per_row", w, [&](int i) {
        int n = slot == attn::SlotKind::k ? 1 : 0;
        for (int j = 0; j < S; ++j) n += sees(mask, i, j);
        return n;
      });
      check_close(r.reference, r.expected, 1e-12, 1e-15, what + " reference");
      check_close(r.fused, r.expected, 1e-12, 1e-15, what + " fused");
    }
}

TEST_CASE("causal: sigmoid_bias and sigmoid_bias_per_row agree on the last row only", "[attention][kernel]") {
  const auto w = window(attn::MaskKind::causal);
  const auto paper = weights("sigmoid_bias", w, [](int) { return S; }).fused;
  const auto per_row = weights("sigmoid_bias_per_row", w, [](int i) { return i + 1; }).fused;
  for (int h = 0; h < 2; ++h)
    for (int i = 0; i < S; ++i) {
      INFO("head " << h << ", row " << i);
      const std::size_t r0 = (std::size_t(h) * S + i) * S;
      for (int j = 0; j <= i; ++j) {
        if (i == S - 1)
          REQUIRE(per_row[r0 + j] == Approx(paper[r0 + j]).epsilon(1e-14));
        else  // −log(i+1) > −log S and σ increases: every visible weight is strictly larger per row
          REQUIRE(per_row[r0 + j] > paper[r0 + j] * (1 + 1e-6));
      }
    }
}
