#pragma once
// Shared helpers for the autograd tests: random double leaves, a gradcheck assertion that prints the mismatches,
// and the empty-tensor check (forward runs, backward gives gradients of the inputs' (empty) shapes).
#include <catch2/catch.hpp>
#include <functional>
#include <vector>

#include "sinklab/autograd.hpp"
#include "support/check_close.hpp"

namespace sinklab::test {

using autograd::Var;
using VarD = Var<double>;
using Fn = std::function<VarD(const std::vector<VarD>&)>;

inline VarD leaf(Shape s, uint64_t seed, double lo = -1.0, double hi = 1.0) {
  return VarD(Tensor<double>::uniform(std::move(s), seed, lo, hi), true);
}
inline VarD leaf_of(Shape s, std::vector<double> v) { return VarD(Tensor<double>::from(std::move(s), v), true); }

// Every input gradient matches central differences (double, h = 1e-6).
#define SINKLAB_CHECK_GRAD(f, ...)                                                                        \
  do {                                                                                                    \
    const auto r_ = ::sinklab::autograd::gradcheck((f), std::vector<::sinklab::test::VarD>{__VA_ARGS__}); \
    INFO("max abs err " << r_.max_abs_err << ", max rel err " << r_.max_rel_err << "\n" << r_.report);    \
    CHECK(r_.ok);                                                                                         \
  } while (0)

// f on inputs of the given (possibly empty) shapes: forward works, and sum(f).backward() leaves each input a
// gradient of its own shape (empty when the input is empty).
inline void check_empty_backward(const Fn& f, const std::vector<Shape>& shapes, const Shape& expect_out) {
  std::vector<VarD> in;
  for (const auto& s : shapes) in.push_back(VarD(Tensor<double>(s), true));
  const VarD y = f(in);
  CHECK(y.shape() == expect_out);
  autograd::sum(y).backward();
  for (std::size_t i = 0; i < in.size(); ++i) {
    INFO("input " << i);
    REQUIRE(in[i].has_grad());
    CHECK(in[i].grad().shape() == in[i].shape());
  }
}

inline std::vector<double> values(const VarD& v) { return v.value().to_vector(); }

}  // namespace sinklab::test
