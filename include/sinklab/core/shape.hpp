#pragma once
// Shapes and strides: small int64 vectors, with the helpers every layer needs (numel, printing, broadcasting).
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "sinklab/core/error.hpp"

namespace sinklab {

using Shape = std::vector<int64_t>;

inline int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

inline std::string to_string(const Shape& s) {
  std::ostringstream os;
  os << '(';
  for (std::size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  if (s.size() == 1) os << ',';
  os << ')';
  return os.str();
}

inline Shape contiguous_strides(const Shape& s) {
  Shape st(s.size());
  int64_t acc = 1;
  for (std::size_t i = s.size(); i-- > 0;) {
    st[i] = acc;
    acc *= s[i];
  }
  return st;
}

// Normalises a possibly negative axis against rank `rank`; names the op in the error.
inline int normalize_axis(int axis, std::size_t rank, const char* op = "op") {
  const int r = static_cast<int>(rank);
  SINKLAB_CHECK(axis >= -r && axis < r, op, ": axis ", axis, " out of range for rank ", r);
  return axis < 0 ? axis + r : axis;
}

// NumPy broadcasting; the error names both shapes.
inline Shape broadcast_shapes(const Shape& a, const Shape& b) {
  const std::size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (std::size_t i = 0; i < n; ++i) {
    const int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    SINKLAB_CHECK(da == db || da == 1 || db == 1, "shapes ", to_string(a), " and ", to_string(b),
                  " cannot be broadcast together");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

}  // namespace sinklab
