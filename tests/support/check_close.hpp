#pragma once
// check_close: compares two arrays elementwise with |a-b| <= atol + rtol*|b|; on failure prints the first
// mismatches, the max absolute difference and where it occurred, then fails the Catch2 test.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstddef>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

namespace sinklab::test {

template <class T>
struct Tol;
template <>
struct Tol<float> {
  static constexpr double rtol = 1e-4, atol = 1e-5;
};
template <>
struct Tol<double> {
  static constexpr double rtol = 1e-10, atol = 1e-12;
};

template <class A, class B>
void check_close(const A* a, const B* b, std::size_t n, double rtol, double atol, const std::string& what = "") {
  std::size_t bad = 0, worst = 0;
  double max_diff = 0.0;
  std::ostringstream first;
  for (std::size_t i = 0; i < n; ++i) {
    const double x = static_cast<double>(a[i]), y = static_cast<double>(b[i]);
    const double d = std::abs(x - y);
    const bool ok = (std::isnan(x) && std::isnan(y)) || d <= atol + rtol * std::abs(y);
    if (!(d <= max_diff) || std::isnan(d)) {
      max_diff = d;
      worst = i;
    }
    if (!ok) {
      if (bad < 8) first << "  [" << i << "] got " << x << " want " << y << " (diff " << d << ")\n";
      ++bad;
    }
  }
  if (bad) {
    FAIL(what << ": " << bad << " of " << n << " elements differ (rtol " << rtol << ", atol " << atol
              << "); max |diff| " << max_diff << " at [" << worst << "]\n"
              << first.str());
  } else {
    SUCCEED();
  }
}

template <class A, class B>
void check_close(const std::vector<A>& a, const std::vector<B>& b, double rtol, double atol, const std::string& what = "") {
  REQUIRE(a.size() == b.size());
  check_close(a.data(), b.data(), a.size(), rtol, atol, what);
}

}  // namespace sinklab::test
