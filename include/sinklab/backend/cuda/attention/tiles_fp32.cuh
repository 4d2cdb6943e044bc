#pragma once
// Part of the fused CUDA attention; attention/fused_cuda.cuh has the plan and the entry points.
// The fp32 SIMT tile kernels: forward (1), and the backward's dK/dV and dQ passes (B).
#include "sinklab/backend/cuda/attention/smem_tiles.cuh"

namespace sinklab::attention::cuda_detail {

// ---- (1) forward tiles --------------------------------------------------------------------------------------------
template <class T>
struct FwdOut {
  T* acc;  // (B, H, S, D) a' (saved.pre_norm, normalised in place by the row kernel)
  T* m;    // (B, H, S)
  T* l;    // (B, H, S)
};

template <class TT, int DMAX, class T>
__global__ void __launch_bounds__(kThreads) fwd_tile_kernel(DevCtx<T> c, FwdOut<T> out) {
  using K = typename TT::kernel;
  using Cfg = FwdCfg<DMAX>;
  constexpr int BQ = Cfg::BQ, BK = Cfg::BK, RM = Cfg::RM, CM = Cfg::CM, DM = Cfg::DM;
  constexpr int LDD = Cfg::LDD, LDP = Cfg::LDP;
  float* Qs = dyn_smem();
  float* Ks = Qs + BQ * LDD;
  float* Vs = Ks + BK * LDD;
  float* Ps = Vs + BK * LDD;

  const int tid = threadIdx.x, ty = tid >> 4, tx = tid & 15;
  const int S = c.S, D = c.D, Dr = (D + 3) & ~3;
  const int nqb = (S + BQ - 1) / BQ, nkb = (S + BK - 1) / BK;
  const TileGrid::Pos pos = TileGrid{nqb, c.H}.at(blockIdx.x);  // Note [tile grid]
  const int ib = nqb - 1 - pos.block;                              // causal: the longest rows first
  const int h = pos.head, b = pos.batch, hk = h / c.group;
  const int i0 = ib * BQ, R = imin(BQ, S - i0);
  const std::size_t row0 = c.row(b, h, i0);
  const T* Kh = c.K + (std::size_t(b) * c.Hkv + hk) * S * D;
  const T* Vh = c.V + (std::size_t(b) * c.Hkv + hk) * S * D;
  const T* gin = TT::has_in ? c.g_in + c.row(b, h, 0) : nullptr;

  load_tile<BQ, DMAX, LDD>(Qs, c.Q + row0 * D, R, D, tid);

  float m[RM], l[RM], off[RM], acc[RM][DM];
SINKLAB_UNROLL
  for (int i = 0; i < RM; ++i) {
    const int r = ty * RM + i;
    off[i] = K::row_offset(c.n_of(i0 + imin(r, R - 1)), c.S, 0.f);
    m[i] = TT::use_shift ? -INFINITY : 0.f;
    l[i] = 0.f;
SINKLAB_UNROLL
    for (int k = 0; k < DM; ++k) acc[i][k] = 0.f;
  }
  __syncthreads();

  if (c.slot) {  // key column −1: visible to every row, no positional bias
    const T* ks = c.Ks + std::size_t(h) * D;
SINKLAB_UNROLL
    for (int i = 0; i < RM; ++i) {
      const int r = ty * RM + i;
      float part = 0.f;
      for (int d = tx; d < D; d += 16) part = fmaf(Qs[r * LDD + d], float(ks[d]), part);
      const float s = half_warp_sum(part) * c.scale + off[i];
      if (TT::use_shift) m[i] = s;
      const float w = K::weight(s, m[i]);
      l[i] += K::mass(s, m[i]);
      if (c.slot_value) {
        const T* vs = c.Vs + std::size_t(h) * D;
SINKLAB_UNROLL
        for (int k = 0; k < DM; ++k)
          if (tx + 16 * k < D) acc[i][k] = w * float(vs[tx + 16 * k]);
      }
    }
  }

  for (int jb = 0; jb < nkb; ++jb) {
    const int j0 = jb * BK, C = imin(BK, S - j0);
    const TileClass cls = c.win.classify(i0, i0 + R, j0, j0 + C);
    if (cls == TileClass::empty) continue;  // uniform over the CTA
    __syncthreads();                         // the previous tile's Ks/Vs/Ps are consumed
    load_tile<BK, DMAX, LDD>(Ks, Kh + std::size_t(j0) * D, C, D, tid);
    load_tile<BK, DMAX, LDD>(Vs, Vh + std::size_t(j0) * D, C, D, tid, TT::has_in ? gin + j0 : nullptr);
    __syncthreads();

    float s[RM][CM];
    dot_tile<RM, CM, LDD, LDD>(Qs, Ks, Dr, ty, tx, s);
    const bool full = cls == TileClass::full && R == BQ && C == BK;
    bool vis[RM][CM];
SINKLAB_UNROLL
    for (int i = 0; i < RM; ++i)
SINKLAB_UNROLL
      for (int u = 0; u < CM; ++u) {
        const int r = ty * RM + i, cc = tx + 16 * u;
        vis[i][u] = full || (r < R && cc < C && c.win.visible(i0 + r, j0 + cc));
        s[i][u] = vis[i][u] ? finish_score(c, s[i][u], h, i0 + r, j0 + cc, off[i]) : 0.f;
      }
SINKLAB_UNROLL
    for (int i = 0; i < RM; ++i) {
      if (TT::use_shift) {
        float mt = -INFINITY;
SINKLAB_UNROLL
        for (int u = 0; u < CM; ++u)
          if (vis[i][u]) mt = fmaxf(mt, s[i][u]);
        mt = half_warp_max(mt);
        if (mt > m[i]) {  // rescale what was accumulated under the old max
          const float alpha = m[i] == -INFINITY ? 0.f : expf(m[i] - mt);
          l[i] *= alpha;
SINKLAB_UNROLL
          for (int k = 0; k < DM; ++k) acc[i][k] *= alpha;
          m[i] = mt;
        }
      }
      float lsum = 0.f;
SINKLAB_UNROLL
      for (int u = 0; u < CM; ++u) {
        float p = 0.f;
        if (vis[i][u]) {
          p = K::weight(s[i][u], m[i]);
          lsum += K::separate_mass ? K::mass(s[i][u], m[i]) : p;
        }
        Ps[(ty * RM + i) * LDP + tx + 16 * u] = p;
      }
      l[i] += half_warp_sum(lsum);
    }
    __syncwarp();  // rows ty·RM.. of Ps are written and read by the same 16 lanes
    acc_rows<RM, DM, BK, LDP, LDD>(Ps, Vs, ty, tx, acc);
  }

SINKLAB_UNROLL
  for (int i = 0; i < RM; ++i) {
    const int r = ty * RM + i;
    if (r >= R) continue;
    T* dst = out.acc + (row0 + r) * D;
SINKLAB_UNROLL
    for (int k = 0; k < DM; ++k)
      if (tx + 16 * k < D) dst[tx + 16 * k] = T(acc[i][k]);
    if (tx == 0) {
      out.m[row0 + r] = T(m[i]);
      out.l[row0 + r] = T(l[i]);
    }
  }
}

// ---- (B) backward tiles -------------------------------------------------------------------------------------------
template <class T>
struct BwdTileArgs {
  const T* m;        // saved.row_max (B, H, S)
  const float* dA;   // (B, H, S, D) da' from stage A
  const float* dL;   // (B, H, S) dℓ'
  T* dK;             // (B, Hkv, S, D): dk, or its feature-space version
  T* dV;             // (B, Hkv, S, D)
  T* dg_in;          // (B, H, S) or null
  T* dQ;             // (B, H, S, D): holds the slot's share on entry (stage A); dq (or feature space) on exit
};

// ds for one visible score (CPU: backward_kv_task's scalar path).
template <class K>
__device__ __forceinline__ float dscore(float s, float mi, float dp, float dl) {
  if constexpr (K::separate_mass)
    return K::dweight(s, mi) * dp + K::dmass(s, mi) * dl;
  else
    return K::dweight(s, mi) * (dp + dl);
}

template <class TT, int DMAX, class T>
__global__ void __launch_bounds__(kThreads) dkdv_tile_kernel(DevCtx<T> c, BwdTileArgs<T> a) {
  using K = typename TT::kernel;
  using Cfg = BwdCfg<DMAX>;
  constexpr int BQ = Cfg::BQ, BK = Cfg::BK, RM = Cfg::RM, CM = Cfg::CM, KM = Cfg::KM, DM = Cfg::DM;
  constexpr int LDD = Cfg::LDD, LDP = Cfg::LDP;
  float* Ks = dyn_smem();
  float* Vs = Ks + BK * LDD;
  float* Qs = Vs + BK * LDD;
  float* dAs = Qs + BQ * LDD;
  float* Ps = dAs + BQ * LDD;
  float* dSs = Ps + BQ * LDP;
  float* rm = dSs + BQ * LDP;  // per query row of the tile: m, dℓ', offset
  float* rdl = rm + BQ;
  float* roff = rdl + BQ;

  const int tid = threadIdx.x, ty = tid >> 4, tx = tid & 15;
  const int S = c.S, D = c.D, Dr = (D + 3) & ~3;
  const int nqb = (S + BQ - 1) / BQ;
  const TileGrid::Pos pos = TileGrid{(S + BK - 1) / BK, c.Hkv}.at(blockIdx.x);  // Note [tile grid]
  const int jb = pos.block, hk = pos.head, b = pos.batch;
  const int j0 = jb * BK, C = imin(BK, S - j0);
  const std::size_t kv0 = (std::size_t(b) * c.Hkv + hk) * S + j0;

  load_tile<BK, DMAX, LDD>(Ks, c.K + kv0 * D, C, D, tid);
  load_tile<BK, DMAX, LDD>(Vs, c.V + kv0 * D, C, D, tid);  // raw values; the input gate multiplies dp
  __syncthreads();  // (the in-gate epilogue reads Vs even when no query tile is visible)

  float dK[KM][DM], dV[KM][DM], dVg[KM][DM];
SINKLAB_UNROLL
  for (int i = 0; i < KM; ++i)
SINKLAB_UNROLL
    for (int k = 0; k < DM; ++k) dK[i][k] = dV[i][k] = dVg[i][k] = 0.f;

  for (int h = hk * c.group; h < (hk + 1) * c.group; ++h) {
    const T* gin = TT::has_in ? c.g_in + c.row(b, h, 0) : nullptr;
    for (int ib = 0; ib < nqb; ++ib) {
      const int i0 = ib * BQ, R = imin(BQ, S - i0);
      const TileClass cls = c.win.classify(i0, i0 + R, j0, j0 + C);
      if (cls == TileClass::empty) continue;
      const std::size_t r0 = c.row(b, h, i0);
      __syncthreads();  // the previous tile's Qs/dAs/Ps/dSs are consumed
      load_tile<BQ, DMAX, LDD>(Qs, c.Q + r0 * D, R, D, tid);
      load_tile<BQ, DMAX, LDD>(dAs, a.dA + r0 * D, R, D, tid);
      for (int r = tid; r < BQ; r += kThreads) {
        const bool in = r < R;
        rm[r] = in ? float(a.m[r0 + r]) : 0.f;
        rdl[r] = in ? a.dL[r0 + r] : 0.f;
        roff[r] = K::row_offset(c.n_of(i0 + (in ? r : R - 1)), c.S, 0.f);
      }
      __syncthreads();

      float s[RM][CM], dp[RM][CM];
      dot_tile<RM, CM, LDD, LDD>(Qs, Ks, Dr, ty, tx, s);
      dot_tile<RM, CM, LDD, LDD>(dAs, Vs, Dr, ty, tx, dp);
      const bool full = cls == TileClass::full && R == BQ && C == BK;
SINKLAB_UNROLL
      for (int i = 0; i < RM; ++i)
SINKLAB_UNROLL
        for (int u = 0; u < CM; ++u) {
          const int r = ty * RM + i, cc = tx + 16 * u;
          float p = 0.f, ds = 0.f;
          if (full || (r < R && cc < C && c.win.visible(i0 + r, j0 + cc))) {
            const float sv = finish_score(c, s[i][u], h, i0 + r, j0 + cc, roff[r]);
            const float dpv = TT::has_in ? dp[i][u] * float(gin[j0 + cc]) : dp[i][u];
            p = K::weight(sv, rm[r]);
            ds = dscore<K>(sv, rm[r], dpv, rdl[r]);
          }
          Ps[r * LDP + cc] = p;
          dSs[r * LDP + cc] = ds;
        }
      __syncthreads();
      if constexpr (TT::has_in)
        acc_cols<KM, DM, BQ, LDP, LDD>(Ps, dAs, ty, tx, dVg);
      else
        acc_cols<KM, DM, BQ, LDP, LDD>(Ps, dAs, ty, tx, dV);
      acc_cols<KM, DM, BQ, LDP, LDD>(dSs, Qs, ty, tx, dK);
    }
    if constexpr (TT::has_in) {  // dg_in_j = v_j·dṽ_j for this head; dv_j += g_j·dṽ_j
SINKLAB_UNROLL
      for (int i = 0; i < KM; ++i) {
        const int cc = ty * KM + i;
        float part = 0.f;
SINKLAB_UNROLL
        for (int k = 0; k < DM; ++k) part = fmaf(Vs[cc * LDD + tx + 16 * k], dVg[i][k], part);
        const float dot = half_warp_sum(part);
        const float g = cc < C ? float(gin[j0 + cc]) : 0.f;
        if (tx == 0 && cc < C) a.dg_in[c.row(b, h, j0 + cc)] = T(dot);
SINKLAB_UNROLL
        for (int k = 0; k < DM; ++k) {
          dV[i][k] = fmaf(g, dVg[i][k], dV[i][k]);
          dVg[i][k] = 0.f;
        }
      }
    }
  }

SINKLAB_UNROLL
  for (int i = 0; i < KM; ++i) {
    const int cc = ty * KM + i;
    if (cc >= C) continue;
    T* dk = a.dK + (kv0 + cc) * D;
    T* dv = a.dV + (kv0 + cc) * D;
SINKLAB_UNROLL
    for (int k = 0; k < DM; ++k)
      if (tx + 16 * k < D) {
        dk[tx + 16 * k] = T(c.scale * dK[i][k]);
        dv[tx + 16 * k] = T(dV[i][k]);
      }
  }
}

template <class TT, int DMAX, class T>
__global__ void __launch_bounds__(kThreads) dq_tile_kernel(DevCtx<T> c, BwdTileArgs<T> a) {
  using K = typename TT::kernel;
  using Cfg = BwdCfg<DMAX>;
  constexpr int BQ = Cfg::BQ, BK = Cfg::BK, RM = Cfg::RM, CM = Cfg::CM, DM = Cfg::DM;
  constexpr int LDD = Cfg::LDD, LDP = Cfg::LDP;
  float* Qs = dyn_smem();
  float* dAs = Qs + BQ * LDD;
  float* Ks = dAs + BQ * LDD;
  float* Vs = Ks + BK * LDD;
  float* dSs = Vs + BK * LDD;
  float* gs = dSs + BQ * LDP;  // input gate of the key tile

  const int tid = threadIdx.x, ty = tid >> 4, tx = tid & 15;
  const int S = c.S, D = c.D, Dr = (D + 3) & ~3;
  const int nqb = (S + BQ - 1) / BQ, nkb = (S + BK - 1) / BK;
  const TileGrid::Pos pos = TileGrid{nqb, c.H}.at(blockIdx.x);  // Note [tile grid]
  const int ib = nqb - 1 - pos.block;
  const int h = pos.head, b = pos.batch, hk = h / c.group;
  const int i0 = ib * BQ, R = imin(BQ, S - i0);
  const std::size_t r0 = c.row(b, h, i0);
  const T* Kh = c.K + (std::size_t(b) * c.Hkv + hk) * S * D;
  const T* Vh = c.V + (std::size_t(b) * c.Hkv + hk) * S * D;
  const T* gin = TT::has_in ? c.g_in + c.row(b, h, 0) : nullptr;

  load_tile<BQ, DMAX, LDD>(Qs, c.Q + r0 * D, R, D, tid);
  load_tile<BQ, DMAX, LDD>(dAs, a.dA + r0 * D, R, D, tid);
  float mi[RM], dli[RM], off[RM], dQ[RM][DM];
SINKLAB_UNROLL
  for (int i = 0; i < RM; ++i) {
    const int r = ty * RM + i;
    const bool in = r < R;
    mi[i] = in ? float(a.m[r0 + r]) : 0.f;
    dli[i] = in ? a.dL[r0 + r] : 0.f;
    off[i] = K::row_offset(c.n_of(i0 + (in ? r : R - 1)), c.S, 0.f);
SINKLAB_UNROLL
    for (int k = 0; k < DM; ++k) dQ[i][k] = 0.f;
  }

  for (int jb = 0; jb < nkb; ++jb) {
    const int j0 = jb * BK, C = imin(BK, S - j0);
    const TileClass cls = c.win.classify(i0, i0 + R, j0, j0 + C);
    if (cls == TileClass::empty) continue;
    __syncthreads();  // also orders the Qs/dAs loads before the first tile
    load_tile<BK, DMAX, LDD>(Ks, Kh + std::size_t(j0) * D, C, D, tid);
    load_tile<BK, DMAX, LDD>(Vs, Vh + std::size_t(j0) * D, C, D, tid);
    if constexpr (TT::has_in)
      for (int cc = tid; cc < BK; cc += kThreads) gs[cc] = cc < C ? float(gin[j0 + cc]) : 0.f;
    __syncthreads();

    float s[RM][CM], dp[RM][CM];
    dot_tile<RM, CM, LDD, LDD>(Qs, Ks, Dr, ty, tx, s);
    dot_tile<RM, CM, LDD, LDD>(dAs, Vs, Dr, ty, tx, dp);
    const bool full = cls == TileClass::full && R == BQ && C == BK;
SINKLAB_UNROLL
    for (int i = 0; i < RM; ++i)
SINKLAB_UNROLL
      for (int u = 0; u < CM; ++u) {
        const int r = ty * RM + i, cc = tx + 16 * u;
        float ds = 0.f;
        if (full || (r < R && cc < C && c.win.visible(i0 + r, j0 + cc))) {
          const float sv = finish_score(c, s[i][u], h, i0 + r, j0 + cc, off[i]);
          ds = dscore<K>(sv, mi[i], TT::has_in ? dp[i][u] * gs[cc] : dp[i][u], dli[i]);
        }
        dSs[r * LDP + cc] = ds;
      }
    __syncwarp();  // rows ty·RM.. of dSs are written and read by the same 16 lanes
    acc_rows<RM, DM, BK, LDP, LDD>(dSs, Ks, ty, tx, dQ);
  }

SINKLAB_UNROLL
  for (int i = 0; i < RM; ++i) {
    const int r = ty * RM + i;
    if (r >= R) continue;
    T* dst = a.dQ + (r0 + r) * D;
SINKLAB_UNROLL
    for (int k = 0; k < DM; ++k)
      if (tx + 16 * k < D) dst[tx + 16 * k] = T(float(dst[tx + 16 * k]) + c.scale * dQ[i][k]);
  }
}

}  // namespace sinklab::attention::cuda_detail
