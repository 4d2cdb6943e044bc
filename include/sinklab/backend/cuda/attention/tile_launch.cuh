#pragma once
// Part of the fused CUDA attention; attention/fused_cuda.cuh has the plan and the entry points.
// Host launchers of the tile kernels, dispatching on the head-dim capacity, and the TileOps table that the sharded
// library instantiates once per TileTraits.
#include "sinklab/backend/cuda/attention/tiles_mma.cuh"

namespace sinklab::attention::cuda_detail {

// ---- host launchers of the tile kernels (what the sharded library instantiates once per TileTraits) ------------
template <class TT, int DMAX, class T>
void tile_forward_d(const DevCtx<T>& c, const FwdOut<T>& o, cudaStream_t s) {
  using Cfg = FwdCfg<DMAX>;
  const dim3 grid = tile_grid((c.S + Cfg::BQ - 1) / Cfg::BQ, c.H, c.B, "the forward tiles");
  launch(&fwd_tile_kernel<TT, DMAX, T>, grid, dim3(kThreads), Cfg::smem_floats * sizeof(float), s, c, o);
}
template <class TT, int DMAX, class T>
void tile_dkdv_d(const DevCtx<T>& c, const BwdTileArgs<T>& a, cudaStream_t s) {
  using Cfg = BwdCfg<DMAX>;
  const dim3 gkv = tile_grid((c.S + Cfg::BK - 1) / Cfg::BK, c.Hkv, c.B, "the dK/dV tiles");
  launch(&dkdv_tile_kernel<TT, DMAX, T>, gkv, dim3(kThreads), Cfg::dkdv_floats * sizeof(float), s, c, a);
}
template <class TT, int DMAX, class T>
void tile_backward_d(const DevCtx<T>& c, const BwdTileArgs<T>& a, cudaStream_t s) {
  using Cfg = BwdCfg<DMAX>;
  tile_dkdv_d<TT, DMAX>(c, a, s);
  const dim3 gq = tile_grid((c.S + Cfg::BQ - 1) / Cfg::BQ, c.H, c.B, "the dQ tiles");
  launch(&dq_tile_kernel<TT, DMAX, T>, gq, dim3(kThreads), Cfg::dq_floats * sizeof(float), s, c, a);
}

// Runtime head dim → the smallest capacity that holds it.
template <class TT, class T>
void tile_forward(const DevCtx<T>& c, const FwdOut<T>& o, cudaStream_t s) {
  if (c.D <= 64)
    tile_forward_d<TT, 64>(c, o, s);
  else if (c.D <= 128)
    tile_forward_d<TT, 128>(c, o, s);
  else
    tile_forward_d<TT, 256>(c, o, s);
}
template <class TT, class T>
void tile_backward(const DevCtx<T>& c, const BwdTileArgs<T>& a, cudaStream_t s) {
  if (c.D <= 64)
    tile_backward_d<TT, 64>(c, a, s);
  else if (c.D <= 128)
    tile_backward_d<TT, 128>(c, a, s);
  else
    tile_backward_d<TT, 256>(c, a, s);
}

template <class TT, int D, class T>
void tile_forward_tc_d(const DevCtx<T>& c, const FwdOut<T>& o, cudaStream_t s) {
  using Cfg = TcCfg<D>;
  const dim3 grid = tile_grid((c.S + Cfg::BQ - 1) / Cfg::BQ, c.H, c.B, "the forward tiles");
  launch(&fwd_tc_kernel<TT, D, T>, grid, dim3(Cfg::NT), Cfg::fwd_bytes, s, c, o);
}
template <class TT, int D, class T>
void tile_backward_tc_d(const DevCtx<T>& c, const BwdTileArgs<T>& a, cudaStream_t s) {
  using Cfg = TcCfg<D>;
  if constexpr (TT::has_in) {
    tile_dkdv_d<TT, D>(c, a, s);  // the per-head dṽ of an input gate stays on the fp32 dK/dV tiles
  } else {
    const dim3 gkv = tile_grid((c.S + Cfg::BK - 1) / Cfg::BK, c.Hkv, c.B, "the dK/dV tiles");
    launch(&dkdv_tc_kernel<TT, D, T>, gkv, dim3(Cfg::NT), Cfg::dkdv_bytes, s, c, a);
  }
  const dim3 gq = tile_grid((c.S + Cfg::BQ - 1) / Cfg::BQ, c.H, c.B, "the dQ tiles");
  launch(&dq_tc_kernel<TT, D, T>, gq, dim3(Cfg::NT), Cfg::dq_bytes, s, c, a);
}
// D ∈ {64, 128} on the tensor cores; any other head dim falls back to the fp32 tiles.
template <class TT, class T>
void tile_forward_tc(const DevCtx<T>& c, const FwdOut<T>& o, cudaStream_t s) {
  if (c.D == 64)
    tile_forward_tc_d<TT, 64>(c, o, s);
  else if (c.D == 128)
    tile_forward_tc_d<TT, 128>(c, o, s);
  else
    tile_forward<TT>(c, o, s);
}
template <class TT, class T>
void tile_backward_tc(const DevCtx<T>& c, const BwdTileArgs<T>& a, cudaStream_t s) {
  if (c.D == 64)
    tile_backward_tc_d<TT, 64>(c, a, s);
  else if (c.D == 128)
    tile_backward_tc_d<TT, 128>(c, a, s);
  else
    tile_backward<TT>(c, a, s);
}

// The heavy half of one variant, as function pointers (the library fills one table per TileTraits).
template <class T>
struct TileOps {
  void (*forward)(const DevCtx<T>&, const FwdOut<T>&, cudaStream_t);
  void (*backward)(const DevCtx<T>&, const BwdTileArgs<T>&, cudaStream_t);
  void (*forward_tc)(const DevCtx<T>&, const FwdOut<T>&, cudaStream_t);    // CudaMath::bf16_tensor_cores
  void (*backward_tc)(const DevCtx<T>&, const BwdTileArgs<T>&, cudaStream_t);
};
template <class TT, class T>
TileOps<T> tile_ops_of() {
  return {&tile_forward<TT, T>, &tile_backward<TT, T>, &tile_forward_tc<TT, T>, &tile_backward_tc<TT, T>};
}

}  // namespace sinklab::attention::cuda_detail
