// Feature kernels: the O(S·d²) chunked recurrence == the quadratic fused form (and its saved statistics drive the
// same backward), with and without sink slots.
#include "problem.hpp"

using namespace sinklab::test;
namespace attn = sinklab::attention;

TEST_CASE("chunked recurrent form == quadratic form for feature kernels", "[attention][recurrent]") {
  std::vector<std::string> names;
  for (const auto& r : attn::variant_table)
    if (attn::AnyAttention<double>::create(r.name).traits().has_recurrent_form) names.push_back(r.name);
  REQUIRE(names.size() >= 8);
  const auto name = GENERATE_REF(from_range(names));
  const int slot = GENERATE(0, 1, 2);
  attn::WindowSpec w;
  w.slot = static_cast<attn::SlotKind>(slot);
  const auto a = attn::AnyAttention<double>::create(name, w);
  const auto pd = make_problem<double>(a, 2, 2, 1, 150, 32, 9 + slot);
  const auto quad = run_fused(a, pd);
  Result<double> rec;
  rec.size_like(pd);
  auto out = rec.outputs();
  const auto in = pd.inputs();
  a.recurrent_forward(pd.p, in, out);
  auto g = rec.grads();
  a.backward(pd.p, in, out.saved, pd.dout.data(), g);
  check_result(rec, quad, 1e-10, describe(a, 150, 32) + " recurrent vs quadratic");
  // float too
  const auto pf = pd.cast<float>();
  Result<float> recf;
  recf.size_like(pf);
  auto outf = recf.outputs();
  attn::AnyAttention<float>::create(name, w).recurrent_forward(pf.p, pf.inputs(), outf);
  check_rel(recf.o, quad.o, 2e-3, describe(a, 150, 32) + " recurrent f32");
}

TEST_CASE("recurrent form rejects what it cannot do", "[attention][recurrent]") {
  const auto sliding = attn::AnyAttention<double>::create("linear_elu", {attn::MaskKind::sliding, 4});
  const auto pd = make_problem<double>(sliding, 1, 1, 1, 8, 4, 1);
  Result<double> r;
  r.size_like(pd);
  auto out = r.outputs();
  REQUIRE_THROWS_AS(sliding.recurrent_forward(pd.p, pd.inputs(), out), sinklab::Error);
  REQUIRE_THROWS_WITH(attn::AnyAttention<double>::create("softmax").recurrent_forward(pd.p, pd.inputs(), out),
                      Catch::Contains("no recurrent form"));
}
