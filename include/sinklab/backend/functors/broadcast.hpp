#pragma once
// Broadcast indexing shared by host and device: maps a linear output index to the storage offsets of up to two
// inputs whose strides are zero on broadcast axes. Plain C++; the CUDA kernels pass it by value.
#include <cstdint>

#include "sinklab/core/config.hpp"
#include "sinklab/core/shape.hpp"

namespace sinklab::backend::functors {

inline constexpr int kMaxDims = 8;

template <int N>
struct BroadcastIndexer {
  int rank = 0;
  int64_t shape[kMaxDims] = {};
  int64_t strides[N][kMaxDims] = {};  // element strides of each input, 0 on broadcast axes

  // Offsets (relative to each input's base) of the element feeding output `linear`.
  SINKLAB_HOST_DEVICE void offsets(int64_t linear, int64_t (&off)[N]) const {
    for (int k = 0; k < N; ++k) off[k] = 0;
    for (int d = rank - 1; d >= 0; --d) {
      const int64_t i = linear % shape[d];
      linear /= shape[d];
      for (int k = 0; k < N; ++k) off[k] += i * strides[k][d];
    }
  }
};

// Strides of `in` (shape `in_shape`, strides `in_strides`) read as the broadcast shape `out`: right-aligned,
// size-1 axes get stride 0 (NumPy rules). Throws when the shapes do not broadcast.
inline Shape broadcast_strides(const Shape& in_shape, const Shape& in_strides, const Shape& out) {
  SINKLAB_CHECK(in_shape.size() <= out.size(), "broadcast: shape ", to_string(in_shape), " has more axes than ",
                to_string(out));
  Shape st(out.size(), 0);
  const std::size_t lead = out.size() - in_shape.size();
  for (std::size_t i = 0; i < in_shape.size(); ++i) {
    SINKLAB_CHECK(in_shape[i] == out[lead + i] || in_shape[i] == 1, "broadcast: shape ", to_string(in_shape),
                  " does not broadcast to ", to_string(out));
    st[lead + i] = in_shape[i] == 1 ? 0 : in_strides[i];
  }
  return st;
}

template <int N>
BroadcastIndexer<N> make_indexer(const Shape& out, const Shape* const (&in_shapes)[N], const Shape* const (&in_strides)[N]) {
  SINKLAB_CHECK(out.size() <= static_cast<std::size_t>(kMaxDims), "broadcast: rank ", out.size(), " exceeds ", kMaxDims);
  BroadcastIndexer<N> ix;
  ix.rank = static_cast<int>(out.size());
  for (int d = 0; d < ix.rank; ++d) ix.shape[d] = out[d];
  for (int k = 0; k < N; ++k) {
    const Shape st = broadcast_strides(*in_shapes[k], *in_strides[k], out);
    for (int d = 0; d < ix.rank; ++d) ix.strides[k][d] = st[d];
  }
  return ix;
}

}  // namespace sinklab::backend::functors
