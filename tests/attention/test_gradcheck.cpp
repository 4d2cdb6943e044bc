// Central finite differences in double of the fused op, for every registered variant and every input it has
// (q, k, v, gates, norm weight/bias, sink logit, slots, MLP weights), under causal, sliding-window and prefix masks.
#include <tuple>

#include "problem.hpp"

using namespace sinklab::test;
namespace attn = sinklab::attention;

namespace {

double loss(const attn::AnyAttention<double>& a, const Problem<double>& pr) {
  const auto r = run_fused(a, pr, /*backward=*/false);
  double s = 0;
  for (std::size_t i = 0; i < r.o.size(); ++i) s += r.o[i] * pr.dout[i];
  return s;
}

void gradcheck(const attn::AnyAttention<double>& a, std::uint64_t seed) {
  auto pr = make_problem<double>(a, 1, 2, 1, 7, 4, seed);
  auto analytic = run_fused(a, pr);
  // q, k, v and every tensor of the variant's list (Note [parameter lists]), each with its gradient
  std::vector<std::tuple<std::string, std::vector<double>*, const std::vector<double>*>> inputs{
      {"q", &pr.q, &analytic.dq}, {"k", &pr.k, &analytic.dk}, {"v", &pr.v, &analytic.dv}};
  for (const auto& s : pr.specs) inputs.emplace_back(std::string(s.key), &pr.at(s.key), &analytic.grad(s.key));
  for (const auto& [n, xp, gp] : inputs) {
    auto& x = *xp;
    const auto& g = *gp;
    // A detached denominator is, by definition, not the derivative of the forward: finite differences see the
    // denominator move with q, k (and what feeds them). Those gradients are checked against the reference and the
    // explicit formula in test_equivalence.cpp; v, gates and norms do not reach the denominator.
    if (a.traits().detached_denominator && (n == "q" || n == "k" || n == "k_slot" || n.rfind("mlp", 0) == 0)) continue;
    std::vector<double> fd(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double x0 = x[i], h = 1e-6 * std::max(1.0, std::abs(x0));
      x[i] = x0 + h;
      const double lp = loss(a, pr);
      x[i] = x0 - h;
      const double lm = loss(a, pr);
      x[i] = x0;
      fd[i] = (lp - lm) / (2 * h);
    }
    check_rel(g, fd, 2e-5, describe(a, 7, 4) + " d" + n + " vs finite differences");
  }
}

}  // namespace

TEST_CASE("gradcheck (double, central differences) of the fused op for every variant", "[attention][gradcheck]") {
  const auto row = GENERATE(range(std::size_t(0), attn::variant_count));
  const int mask = GENERATE(0, 1, 2);
  attn::WindowSpec w;
  if (mask == 1) w.mask = attn::MaskKind::sliding, w.window = 3;
  if (mask == 2) w.mask = attn::MaskKind::prefix, w.prefix = 2;
  // slots ride along on one mask each so every variant's slot gradients are checked too
  if (mask == 1) w.slot = attn::SlotKind::kv;
  if (mask == 2) w.slot = attn::SlotKind::k;
  gradcheck(attn::AnyAttention<double>::create(attn::variant_table[row].name, w), 77 + row * 3 + mask);
}
