// The named registry: names, aliases, errors with suggestions, docs/VARIANTS.md freshness, visit_variant, and the
// probe weights of DESIGN §4.
#include <functional>
#include <fstream>
#include <set>
#include <sstream>

#include "problem.hpp"

using namespace sinklab::test;
namespace attn = sinklab::attention;

TEST_CASE("every name of DESIGN §3.1 is registered, spelled as in the papers", "[attention][registry]") {
  const char* required[] = {"softmax",
                            "softmax_clamp_denom",
                            "softmax_detach_denom",
                            "softmax_detach_denom_gate",
                            "softmax_divs",
                            "softmax_gate",
                            "softmax_divS_gate",
                            "softmax_divS_gatev2",
                            "softmax_divS_norm",
                            "softmax_taylor_80terms",
                            "gated_softmax",
                            "gated_softmax_no_norm",
                            "gated_softmax_no_in_gate",
                            "gated_softmax_no_out_gate",
                            "gated_softmax_no_out_gate_no_norm",
                            "gated_softmax_no_in_gate_no_norm",
                            "gated_relu_no_in_gate_no_norm",
                            "gated_softmax_no_gate",
                            "gated_softmax_no_gate_rmsnorm",
                            "gated_softmax_no_gate_L2norm_nodivS",
                            "gated_softmax_no_gate_L2norm_nodivS_noclamp",
                            "gated_ReLU_no_gate_L2norm_nodivS_noclamp",
                            "gated_softmax_out_gate_L2norm_nodivS_noclamp",
                            "gated_softmax_post_out_gate_L2norm_nodivS_noclamp",
                            "gated_softmax_no_gate_rmsnorm_nodivS",
                            "gated_softmax_no_gate_no_norm",
                            "linear_elu",
                            "linear_relu",
                            "linear_cosine",
                            "sigmoid",
                            "sigmoid_norm",
                            "elu",
                            "elu_norm",
                            "kernel_linear",
                            "kernel_linear_norm",
                            "kernel_elu",
                            "kernel_elu_norm",
                            "kernel_mlp",
                            "kernel_mlp_norm",
                            "softmax1",
                            "softmax_sink",
                            "gated_attention",
                            "gated_attention_headwise",
                            "sigmoid_bias",
                            "sigmoid_bias_per_row",
                            "softpick"};
  for (const char* n : required) {
    INFO(n);
    REQUIRE_NOTHROW(attn::AnyAttention<double>::create(n));
  }
  std::set<std::string> names;
  for (const auto& r : attn::variant_table) names.insert(r.name);
  REQUIRE(names.size() == attn::variant_count);
  REQUIRE(attn::unique_variant_types::size < attn::variant_count);  // aliases share one instantiation
}

TEST_CASE("an unknown name throws and lists the nearest names", "[attention][registry]") {
  REQUIRE_THROWS_WITH(attn::AnyAttention<double>::create("sofmax"),
                      Catch::Contains("unknown attention variant 'sofmax'") && Catch::Contains("'softmax'"));
  REQUIRE_THROWS_WITH(attn::AnyAttention<double>::create("softmax_divS_gate_v2"), Catch::Contains("'softmax_divS_gatev2'"));
  REQUIRE_THROWS_AS(attn::variant_index("gated_softmax_no_gate_L2norm"), sinklab::Error);
  REQUIRE(attn::nearest_variant_names("sigmoid_nrom").front() == "sigmoid_norm");
}

TEST_CASE("visit_variant turns a string into the registered type once", "[attention][registry]") {
  std::string seen;
  attn::visit_variant("softmax_sink", [&]<class V>() {
    static_assert(attn::is_variant_v<V>);
    seen = V::row_stage::name;
  });
  REQUIRE(seen == "RowSumPlusSink");
  bool shift = false;
  attn::visit_variant("gated_softmax_no_gate_L2norm_nodivS_noclamp",
                      [&](auto tag) { shift = decltype(tag)::type::use_shift; });
  REQUIRE(shift);
}

TEST_CASE("docs/VARIANTS.md is generated from the table and up to date", "[attention][registry]") {
  std::ifstream f(SINKLAB_SOURCE_DIR "/docs/VARIANTS.md");
  REQUIRE(f.good());
  std::stringstream ss;
  ss << f.rdbuf();
  INFO("regenerate with: attention_registry --write-variants-md (or sinklab::attention::variants_markdown())");
  REQUIRE(ss.str() == attn::variants_markdown());
  std::ostringstream list;
  attn::print_variant_table(list);
  for (const auto& r : attn::variant_table) REQUIRE(list.str().find(r.name) != std::string::npos);
}

TEST_CASE("probe weights follow DESIGN §4", "[attention][weights]") {
  const int S = 12;
  SECTION("softmax rows are distributions; slot is column 0") {
    attn::WindowSpec w;
    w.slot = attn::SlotKind::k;
    const auto a = attn::AnyAttention<double>::create("softmax", w);
    const auto pd = make_problem<double>(a, 1, 2, 1, S, 8, 1);
    std::vector<double> A(std::size_t(2) * S * (S + 1));
    a.weights(pd.p, pd.inputs(), A.data());
    for (int r = 0; r < 2 * S; ++r) {
      double sum = 0;
      for (int c = 0; c < S + 1; ++c) sum += A[r * (S + 1) + c];
      REQUIRE(sum == Approx(1.0).epsilon(1e-12));
      REQUIRE(A[r * (S + 1)] > 0);                                        // the slot column
      if (r % S + 2 < S + 1) REQUIRE(A[r * (S + 1) + (r % S) + 2] == 0);  // causal: key i+1 is column i+2
    }
    // column 0 is exp(s_slot)/Σ
    const double scale = 1.0 / std::sqrt(8.0);
    double s_slot = 0, denom = 0;
    for (int d = 0; d < 8; ++d) s_slot += pd.q[d] * pd.at("k_slot")[d];
    s_slot *= scale;
    double s0 = 0;
    for (int d = 0; d < 8; ++d) s0 += pd.q[d] * pd.k[d];
    denom = std::exp(s_slot) + std::exp(s0 * scale);
    REQUIRE(A[0] == Approx(std::exp(s_slot) / denom).epsilon(1e-12));
  }
  SECTION("softmax1 rows sum to less than one (the missing mass is the implicit sink)") {
    const auto a = attn::AnyAttention<double>::create("softmax1");
    const auto pd = make_problem<double>(a, 1, 1, 1, S, 8, 2);
    std::vector<double> A(std::size_t(S) * S);
    a.weights(pd.p, pd.inputs(), A.data());
    for (int r = 0; r < S; ++r) {
      double sum = 0;
      for (int c = 0; c < S; ++c) sum += A[r * S + c];
      REQUIRE(sum < 1.0);
    }
  }
  SECTION("unnormalised score maps use w/(Σw + 1e-8); feature kernels |w|/(Σ|w| + 1e-8)") {
    // Each expected weight is computed here from the kernel's definition, not by the library.
    const double scale = 1.0 / std::sqrt(8.0);
    auto sigmoid = [](double s) { return 1.0 / (1.0 + std::exp(-s)); };
    auto clamped_exp = [](double s) { return std::exp(std::min(s, 5.0)); };
    auto identity_abs = [](double s) { return std::abs(s); };  // φ = identity: κ = q·k·scale, proxy takes |κ|
    const std::pair<const char*, std::function<double(double)>> cases[] = {
        {"sigmoid", sigmoid}, {"kernel_linear", identity_abs}, {"softmax_divs", clamped_exp}};
    for (const auto& [name, w] : cases) {
      INFO(name);
      const auto a = attn::AnyAttention<double>::create(name);
      const auto pd = make_problem<double>(a, 1, 1, 1, S, 8, 3);
      std::vector<double> A(std::size_t(S) * S);
      a.weights(pd.p, pd.inputs(), A.data());
      for (int r = 0; r < S; ++r) {
        std::vector<double> row(S, 0.0);
        double sum = 0;
        for (int c = 0; c <= r; ++c) {
          double s = 0;
          for (int d = 0; d < 8; ++d) s += pd.q[r * 8 + d] * pd.k[c * 8 + d];
          row[c] = w(s * scale);
          sum += row[c];
        }
        for (int c = 0; c < S; ++c) REQUIRE(A[r * S + c] == Approx(row[c] / (sum + 1e-8)).epsilon(1e-10).margin(1e-15));
      }
    }
  }

}
