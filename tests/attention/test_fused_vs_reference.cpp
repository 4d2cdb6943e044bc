// Every registry variant × {causal, sliding, prefix} × every shape (S not a tile multiple, D ∈ {32, 64, 96, 128, 192},
// GQA): the fused op against the float64 reference, forward and every gradient, in double and in float. S = 150 and
// 130 span three 64-wide tiles, so the sliding window (w = 20) skips whole key tiles in the past and the prefix mask
// (p = 10) mixes visible prefix keys into otherwise skipped tiles above the diagonal.
#include "problem.hpp"

using namespace sinklab::test;
namespace attn = sinklab::attention;

namespace {
struct Shape {
  int B, H, Hkv, S, D;
};
constexpr Shape shapes[] = {{1, 2, 1, 37, 32}, {2, 2, 2, 70, 64}, {1, 4, 2, 150, 96}, {1, 2, 1, 70, 128}, {1, 1, 1, 130, 192}};

attn::WindowSpec mask_spec(int which) {
  attn::WindowSpec w;
  if (which == 1) w.mask = attn::MaskKind::sliding, w.window = 20;
  if (which == 2) w.mask = attn::MaskKind::prefix, w.prefix = 10;
  return w;
}

void run_case(std::size_t row, int mask, const Shape& sh, std::uint64_t seed) {
  const auto a = attn::AnyAttention<double>::create(attn::variant_table[row].name, mask_spec(mask));
  const auto pd = make_problem<double>(a, sh.B, sh.H, sh.Hkv, sh.S, sh.D, seed);
  const auto want = run_reference(a, pd);
  const auto what = describe(a, sh.S, sh.D);
  check_result(run_fused(a, pd), want, 1e-9, what + " f64");
  check_result(run_fused(a, pd.cast<float>()), want, 2e-3, what + " f32");
}
}  // namespace

TEST_CASE("fused == reference for every registered variant", "[attention][reference]") {
  const auto row = GENERATE(range(std::size_t(0), attn::variant_count));
  const int mask = GENERATE(0, 1, 2);
  for (std::size_t s = 0; s < std::size(shapes); ++s) run_case(row, mask, shapes[s], 1000 + row * 31 + mask * 7 + s);
}
