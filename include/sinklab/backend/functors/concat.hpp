#pragma once
// Concat / split along one axis as strided copies (src/cuda/elementwise.cu): a piece occupies [start, start + len)
// on `axis` of the joined tensor; one copy per piece maps each of its elements between the joined tensor's view and
// the piece, through a two-input BroadcastIndexer (offset 0: destination, offset 1: source). Shape checks give the
// CPU autograd ops' messages. Host-only planning (the kernel just reads the indexer); plain C++.
#include <cstdint>
#include <vector>

#include "sinklab/backend/functors/broadcast.hpp"
#include "sinklab/core/shape.hpp"

namespace sinklab::backend::functors {

// Shape of the pieces joined along `axis` (normalised in place); every other dimension must match.
inline Shape concat_shape(const std::vector<Shape>& pieces, int& axis) {
  SINKLAB_CHECK(!pieces.empty(), "concat: no inputs");
  const Shape& s0 = pieces[0];
  axis = normalize_axis(axis, s0.size(), "concat");
  Shape out = s0;
  out[axis] = 0;
  for (const Shape& s : pieces) {
    bool ok = s.size() == s0.size();
    for (std::size_t d = 0; ok && d < s.size(); ++d) ok = static_cast<int>(d) == axis || s[d] == s0[d];
    SINKLAB_CHECK(ok, "concat: shapes ", to_string(s0), " and ", to_string(s), " differ off axis ", axis);
    out[axis] += s[axis];
  }
  return out;
}

// Checks that `sizes` (each ≥ 0) add up to the length of `axis` (normalised in place) of `joined`.
inline void check_split(const Shape& joined, const std::vector<int64_t>& sizes, int& axis, const char* op = "split") {
  axis = normalize_axis(axis, joined.size(), op);
  int64_t total = 0;
  for (auto s : sizes) {
    SINKLAB_CHECK(s >= 0, op, ": negative size ", s);
    total += s;
  }
  SINKLAB_CHECK(total == joined[axis], op, ": sizes add up to ", total, " but axis ", axis, " of ", to_string(joined),
                " has ", joined[axis]);
}

// Start of each piece on the axis: exclusive prefix sums of `sizes`.
inline std::vector<int64_t> axis_offsets(const std::vector<int64_t>& sizes) {
  std::vector<int64_t> off;
  off.reserve(sizes.size());
  int64_t o = 0;
  for (auto s : sizes) off.push_back(o), o += s;
  return off;
}

// One piece's copy: `base` is the element offset of the piece's first element in the joined tensor (start times
// the joined stride of `axis`); the indexer enumerates the piece's elements (row-major over `piece`) and gives
// offsets relative to the destination and source bases.
struct PieceCopy {
  BroadcastIndexer<2> ix;
  int64_t base = 0;
  int64_t n = 0;
};
// into_joined: concat (destination = joined view at `base`, source = the piece); otherwise split (source = joined).
inline PieceCopy piece_copy(const Shape& joined_strides, int axis, int64_t start, const Shape& piece,
                            const Shape& piece_strides, bool into_joined) {
  PieceCopy c;
  c.base = start * joined_strides[axis];
  c.n = numel(piece);
  const Shape* shapes[2] = {&piece, &piece};
  const Shape* dst_src[2] = {into_joined ? &joined_strides : &piece_strides,
                             into_joined ? &piece_strides : &joined_strides};
  c.ix = make_indexer<2>(piece, shapes, dst_src);
  return c;
}

}  // namespace sinklab::backend::functors
