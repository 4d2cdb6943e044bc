// Thread-count invariance: results with 1 and 2 threads are bit-identical (sizes above kParallelGrain, so the
// parallel paths run). See the determinism notes in backend/cpu/*.hpp.
#include <cstring>

#include "grad_helpers.hpp"

using namespace sinklab;
using namespace sinklab::autograd;
using namespace sinklab::test;

namespace {
using VarF = Var<float>;

// Runs `f` once per thread count and returns the concatenated forward value and input gradients.
template <class F>
std::vector<float> run_with_threads(int threads, F f) {
  set_num_threads(threads);
  std::vector<float> out = f();
  set_num_threads(0);
  return out;
}

template <class F>
void check_invariant(const char* what, F f) {
  const auto one = run_with_threads(1, f), two = run_with_threads(2, f);
  INFO(what);
  REQUIRE(one.size() == two.size());
  CHECK(std::memcmp(one.data(), two.data(), one.size() * sizeof(float)) == 0);
}

std::vector<float> cat(std::initializer_list<Tensor<float>> ts) {
  std::vector<float> v;
  for (const auto& t : ts) {
    const auto x = t.to_vector();
    v.insert(v.end(), x.begin(), x.end());
  }
  return v;
}
VarF randf(Shape s, uint64_t seed) { return VarF(Tensor<float>::randn(std::move(s), seed), true); }
}  // namespace

TEST_CASE("threads: matmul, sum, rms_norm, cross_entropy and embedding are bit-identical for 1 and 2 threads",
          "[autograd][threads]") {
  check_invariant("matmul", [] {
    auto a = randf({4, 64, 128}, 141), b = randf({128, 96}, 142);
    const auto y = matmul(a, b);
    sum(y).backward();
    return cat({y.value(), a.grad(), b.grad()});
  });
  // K above Eigen's single-thread K block (~300 for float): Eigen's own threading would change the bits here.
  check_invariant("matmul, large K, both transposes", [] {
    auto a = randf({768, 600}, 150), b = randf({700, 768}, 151);
    const auto y = matmul(a, b, true, true);  // (600 × 768) · (768 × 700)
    y.backward(Tensor<float>::randn(y.shape(), 152));
    return cat({y.value(), a.grad(), b.grad()});
  });
  check_invariant("sum", [] {
    auto x = randf({300, 257}, 143);
    const auto s = sum(x), s0 = sum(x, 0), s1 = mean(x, 1);
    return cat({s.value(), s0.value(), s1.value()});
  });
  check_invariant("rms_norm", [] {
    auto x = randf({700, 96}, 144), w = randf({96}, 145);
    const auto y = rms_norm(x, w, 1e-5f);
    y.backward(Tensor<float>::randn(y.shape(), 146));
    return cat({y.value(), x.grad(), w.grad()});
  });
  check_invariant("cross_entropy", [] {
    auto x = randf({256, 500}, 147);
    auto t = Tensor<int32_t>({256});
    for (int64_t i = 0; i < 256; ++i) t.data()[i] = static_cast<int32_t>((i * 37) % 500);
    const auto l = cross_entropy(x, t);
    l.backward();
    return cat({l.value(), x.grad()});
  });
  check_invariant("embedding backward", [] {
    auto e = randf({300, 64}, 148);
    auto ids = Tensor<int32_t>({64, 64});
    for (int64_t i = 0; i < ids.numel(); ++i) ids.data()[i] = static_cast<int32_t>((i * 7919) % 300);
    const auto y = embedding(e, ids);
    y.backward(Tensor<float>::randn(y.shape(), 149));
    return cat({y.value(), e.grad()});
  });
}
