// Must not compile: a kernel that declares vectorised tile hooks but misspells one (weigth_vec) is rejected, where it
// used to run the scalar loop without a word
#include <cmath>

#include "sinklab/attention/fused_cpu.hpp"
using namespace sinklab::attention;
struct Misspelt : kernel::ScoreMapBase {
  static constexpr const char* name = "Misspelt";
  static constexpr bool shift_equivariant = true, overflows_unshifted = true;
  static constexpr TileHooks tile_hooks = TileHooks::vectorised;
  template <class T> static T weight(T s, T m) { return std::exp(s - m); }
  template <class T> static T dweight(T s, T m) { return std::exp(s - m); }
  template <class T> static T mass(T s, T m) { return std::exp(s - m); }
  template <class T> static T dmass(T s, T m) { return std::exp(s - m); }
  template <class A, class T> static auto weigth_vec(const A& s, T m) { return (s - m).exp(); }
  template <class A, class T, class P> static const P& dweight_vec(const A&, T, const P& p) { return p; }
};
static_assert(detail::tile_hooks_checked<Misspelt, float>());
