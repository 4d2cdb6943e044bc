// Window axis: the mask arithmetic against brute force, and ALiBi, relative buckets, K-slot and KV-slot against the
// reference (forward + backward) with softmax and other kernels.
#include "problem.hpp"

using namespace sinklab::test;
namespace attn = sinklab::attention;

TEST_CASE("Window::count and Window::classify agree with brute force", "[attention][window]") {
  const int S = 53;
  for (int mk = 0; mk < 4; ++mk)
    for (int param : {1, 3, 17, 60}) {
      attn::WindowSpec spec;
      spec.mask = static_cast<attn::MaskKind>(mk);
      spec.window = param;
      spec.prefix = param;
      const auto w = attn::Window::from(spec, S);
      for (int i = 0; i < S; ++i) {
        int n = 0;
        for (int j = 0; j < S; ++j) n += w.visible(i, j);
        REQUIRE(w.count(i, S) == n);
      }
      for (int i0 = 0; i0 < S; i0 += 8)
        for (int j0 = 0; j0 < S; j0 += 8) {
          const int i1 = std::min(S, i0 + 8), j1 = std::min(S, j0 + 8);
          int vis = 0;
          for (int i = i0; i < i1; ++i)
            for (int j = j0; j < j1; ++j) vis += w.visible(i, j);
          const auto cls = w.classify(i0, i1, j0, j1);
          if (cls == attn::TileClass::empty) REQUIRE(vis == 0);
          if (cls == attn::TileClass::full) REQUIRE(vis == (i1 - i0) * (j1 - j0));
        }
    }
}

TEST_CASE("T5 relative buckets (bidirectional = false, 32 buckets, max distance 128)", "[attention][window]") {
  REQUIRE(attn::relative_bucket(-5) == 0);
  REQUIRE(attn::relative_bucket(0) == 0);
  REQUIRE(attn::relative_bucket(15) == 15);
  REQUIRE(attn::relative_bucket(16) == 16);
  REQUIRE(attn::relative_bucket(127) == 31);
  REQUIRE(attn::relative_bucket(1000) == 31);
  const auto s8 = attn::alibi_slopes(8);
  REQUIRE(s8[0] == Approx(0.5));
  REQUIRE(s8[7] == Approx(1.0 / 256));
  REQUIRE(attn::alibi_slopes(6).size() == 6);
}

TEST_CASE("biases and sink slots: fused == reference, forward and backward", "[attention][window]") {
  const char* name = GENERATE("softmax", "sigmoid_norm", "gated_softmax", "softmax_sink", "kernel_elu_norm");
  const int which = GENERATE(0, 1, 2, 3, 4);
  attn::WindowSpec w;
  switch (which) {
    case 0:
      w.bias = attn::BiasKind::alibi;
      break;
    case 1:
      w.bias = attn::BiasKind::relative_bucket;
      break;
    case 2:
      w.slot = attn::SlotKind::k;
      break;
    case 3:
      w.slot = attn::SlotKind::kv;
      break;
    case 4:
      w.mask = attn::MaskKind::full, w.bias = attn::BiasKind::alibi, w.slot = attn::SlotKind::kv;
      break;
  }
  const auto a = attn::AnyAttention<double>::create(name, w);
  if (a.traits().feature_kernel && w.bias != attn::BiasKind::none) {
    const auto pd = make_problem<double>(a, 1, 2, 1, 10, 8, 1);
    REQUIRE_THROWS_WITH(run_fused(a, pd), Catch::Contains("feature kernel"));
    return;
  }
  const auto pd = make_problem<double>(a, 1, 4, 2, 70, 32, 100 + which);
  const auto want = run_reference(a, pd);
  check_result(run_fused(a, pd), want, 1e-9, std::string(name) + " window case " + std::to_string(which));
  check_result(run_fused(a, pd.cast<float>()), want, 2e-3,
               std::string(name) + " f32 window case " + std::to_string(which));
}

TEST_CASE("a user bucket table and user ALiBi slopes are used", "[attention][window]") {
  attn::WindowSpec w;
  w.bias = attn::BiasKind::relative_bucket;
  const auto a = attn::AnyAttention<double>::create("softmax", w);
  auto pd = make_problem<double>(a, 1, 2, 1, 40, 16, 3);
  std::vector<double> table(2 * 32);
  for (std::size_t i = 0; i < table.size(); ++i) table[i] = -0.1 * double(i % 32) + (i >= 32 ? 0.5 : 0.0);
  pd.p.bucket_table = table.data();
  const auto with_table = run_fused(a, pd);
  check_result(with_table, run_reference(a, pd), 1e-9, "bucket table");
  pd.p.bucket_table = nullptr;
  const auto default_table = run_fused(a, pd);
  REQUIRE(std::abs(with_table.o[100] - default_table.o[100]) > 1e-6);
}
