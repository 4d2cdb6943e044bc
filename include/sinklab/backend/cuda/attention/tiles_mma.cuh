#pragma once
// Part of the fused CUDA attention; attention/fused_cuda.cuh has the plan and the entry points.
// The bf16 tensor-core tile kernels (mma.sync m16n8k16, fp32 accumulation) for D = 64 and 128: forward, dQ and dK/dV,
// with the same per-element math as the fp32 tiles.
#include "sinklab/backend/cuda/attention/tiles_fp32.cuh"

namespace sinklab::attention::cuda_detail {

// ---- (1, B) bf16 tensor-core tiles: mma.sync m16n8k16, fp32 accumulation (CudaMath::bf16_tensor_cores) ----------
// Same algorithm and the same per-element code as the fp32 tiles; the GEMMs run on bf16 copies of the operands
// (q, k, v, P; da', dS in the backward) with fp32 accumulators, everything else (scores, κ, shift, mass, masks,
// statistics) in fp32. One warp owns 16 rows; a lane (g = lane / 4, t = lane % 4) holds rows g and g + 8 and, per
// 8-column n-tile, columns 2t and 2t + 1 (the accumulator layout, see mma_bf16_16816). P and dS go from the
// accumulator layout straight into A fragments (no shared memory). Head dims 64 and 128 (compile time).
using bf16_bits_t = unsigned short;

__device__ __forceinline__ std::uint32_t pack_bf16(float lo, float hi) {
#if defined(SINKLAB_CUDA_EMULATE)
  return ::sinklab_emu::bf16_bits(lo) | (::sinklab_emu::bf16_bits(hi) << 16);
#else
  const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);  // .x (low half) = lo
  return *reinterpret_cast<const std::uint32_t*>(&v);
#endif
}
__device__ __forceinline__ bf16_bits_t to_bf16(float x) {
#if defined(SINKLAB_CUDA_EMULATE)
  return bf16_bits_t(::sinklab_emu::bf16_bits(x));
#else
  return __bfloat16_as_ushort(__float2bfloat16_rn(x));
#endif
}
__device__ __forceinline__ void mma_bf16_16816(float (&d)[4], const std::uint32_t (&a)[4], const std::uint32_t (&b)[2]) {
#if defined(SINKLAB_CUDA_EMULATE)
  ::sinklab_emu::mma_bf16_16816(d, a, b);
#else
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}
__device__ __forceinline__ std::uint32_t ld32(const bf16_bits_t* p) { return *reinterpret_cast<const std::uint32_t*>(p); }

// Shared-memory tiles of bf16: row-major [row][d] with stride D + 8, or transposed [d][row] with stride ROWS + 8
// (16-byte pads: the 32-bit fragment loads of a warp hit 32 distinct banks). Rows ≥ nrows are zero.
template <int ROWS, int D, int NT, class T>
__device__ __forceinline__ void load_bf16_rows(bf16_bits_t* dst, const T* src, int nrows, int tid, const T* g = nullptr) {
  for (int e = tid; e < ROWS * D; e += NT) {
    const int r = e / D, d = e % D;
    float v = 0.f;
    if (r < nrows) v = g ? float(src[std::size_t(r) * D + d]) * float(g[r]) : float(src[std::size_t(r) * D + d]);
    dst[r * (D + 8) + d] = to_bf16(v);
  }
}
template <int ROWS, int D, int NT, class T>
__device__ __forceinline__ void load_bf16_cols(bf16_bits_t* dst, const T* src, int nrows, int tid, const T* g = nullptr) {
  for (int e = tid; e < ROWS * D; e += NT) {
    const int r = e / D, d = e % D;
    float v = 0.f;
    if (r < nrows) v = g ? float(src[std::size_t(r) * D + d]) * float(g[r]) : float(src[std::size_t(r) * D + d]);
    dst[d * (ROWS + 8) + r] = to_bf16(v);
  }
}
// A fragments of rows r0 = 16w + g and r0 + 8 of a [row][d] fp32 matrix in global memory (zero for rows ≥ nrows).
template <int D, class T>
__device__ __forceinline__ void global_a_frags(std::uint32_t (&a)[D / 16][4], const T* src, int r0, int nrows, int t) {
  const bool in0 = r0 < nrows, in1 = r0 + 8 < nrows;
  const T* p0 = src + std::size_t(r0) * D;
  const T* p1 = src + std::size_t(r0 + 8) * D;
  SINKLAB_UNROLL
  for (int kk = 0; kk < D / 16; ++kk) {
    const int d = kk * 16 + 2 * t;
    a[kk][0] = in0 ? pack_bf16(float(p0[d]), float(p0[d + 1])) : 0u;
    a[kk][1] = in1 ? pack_bf16(float(p1[d]), float(p1[d + 1])) : 0u;
    a[kk][2] = in0 ? pack_bf16(float(p0[d + 8]), float(p0[d + 9])) : 0u;
    a[kk][3] = in1 ? pack_bf16(float(p1[d + 8]), float(p1[d + 9])) : 0u;
  }
}
// acc[j] = A(16 rows, D) · B(8·NJ columns)ᵀ where B is a row-major [col][d] bf16 tile in shared memory.
template <int D, int NJ>
__device__ __forceinline__ void mma_abt(float (&acc)[NJ][4], const std::uint32_t (&a)[D / 16][4], const bf16_bits_t* Bs,
                                        int g, int t) {
  SINKLAB_UNROLL
  for (int j = 0; j < NJ; ++j) {
    acc[j][0] = acc[j][1] = acc[j][2] = acc[j][3] = 0.f;
    const bf16_bits_t* row = Bs + (j * 8 + g) * (D + 8) + 2 * t;
    SINKLAB_UNROLL
    for (int kk = 0; kk < D / 16; ++kk) {
      const std::uint32_t b[2] = {ld32(row + kk * 16), ld32(row + kk * 16 + 8)};
      mma_bf16_16816(acc[j], a[kk], b);
    }
  }
}
// The same with A read from shared memory: rows g and g + 8 of the [row][d] bf16 tile at As (stride D + 8).
template <int D, int NJ>
__device__ __forceinline__ void mma_sabt(float (&acc)[NJ][4], const bf16_bits_t* As, const bf16_bits_t* Bs, int g,
                                         int t) {
  SINKLAB_UNROLL
  for (int j = 0; j < NJ; ++j) acc[j][0] = acc[j][1] = acc[j][2] = acc[j][3] = 0.f;
  SINKLAB_UNROLL
  for (int kk = 0; kk < D / 16; ++kk) {
    const bf16_bits_t* a0 = As + g * (D + 8) + kk * 16 + 2 * t;
    const std::uint32_t a[4] = {ld32(a0), ld32(a0 + 8 * (D + 8)), ld32(a0 + 8), ld32(a0 + 8 * (D + 8) + 8)};
    SINKLAB_UNROLL
    for (int j = 0; j < NJ; ++j) {
      const bf16_bits_t* row = Bs + (j * 8 + g) * (D + 8) + kk * 16 + 2 * t;
      const std::uint32_t b[2] = {ld32(row), ld32(row + 8)};
      mma_bf16_16816(acc[j], a, b);
    }
  }
}
// The accumulator tile (16 × 8·NJ, fp32) as A fragments (16 × 16·NJ/2) of the next product.
template <int NJ>
__device__ __forceinline__ void acc_to_a(std::uint32_t (&a)[NJ / 2][4], const float (&c)[NJ][4]) {
  SINKLAB_UNROLL
  for (int kk = 0; kk < NJ / 2; ++kk) {
    a[kk][0] = pack_bf16(c[2 * kk][0], c[2 * kk][1]);
    a[kk][1] = pack_bf16(c[2 * kk][2], c[2 * kk][3]);
    a[kk][2] = pack_bf16(c[2 * kk + 1][0], c[2 * kk + 1][1]);
    a[kk][3] = pack_bf16(c[2 * kk + 1][2], c[2 * kk + 1][3]);
  }
}
// out[n] += A(16 × 16·KK) · X(16·KK × D) where X is given transposed, [d][k] bf16 with stride LDT.
template <int D, int KK, int LDT>
__device__ __forceinline__ void mma_ax(float (&out)[D / 8][4], const std::uint32_t (&a)[KK][4], const bf16_bits_t* Xt,
                                       int g, int t) {
  SINKLAB_UNROLL
  for (int n = 0; n < D / 8; ++n) {
    const bf16_bits_t* col = Xt + (n * 8 + g) * LDT + 2 * t;
    SINKLAB_UNROLL
    for (int kk = 0; kk < KK; ++kk) {
      const std::uint32_t b[2] = {ld32(col + kk * 16), ld32(col + kk * 16 + 8)};
      mma_bf16_16816(out[n], a[kk], b);
    }
  }
}
__device__ __forceinline__ float quad_sum(float v) {
  v += __shfl_xor_sync(0xffffffffu, v, 1);
  v += __shfl_xor_sync(0xffffffffu, v, 2);
  return v;
}
__device__ __forceinline__ float quad_max(float v) {
  v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 1));
  v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 2));
  return v;
}

template <int D>
struct TcCfg {
  static_assert(D % 16 == 0 && D <= 128, "tensor-core tiles: D a multiple of 16, at most 128");
  static constexpr int NT = 128, BQ = 64, BK = 64, NJ = BK / 8, LDH = D + 8, LDK = BK + 8;
  static constexpr std::size_t fwd_bytes = (std::size_t(BK) * LDH + std::size_t(D) * LDK) * sizeof(bf16_bits_t);
  // dQ: Ks, Vs [key][d], Kt [d][key], gate
  static constexpr std::size_t dq_bytes =
      (2 * std::size_t(BK) * LDH + std::size_t(D) * LDK) * sizeof(bf16_bits_t) + BK * sizeof(float);
  // dK/dV: query tiles of BQB = 32 rows: Ks, Vs [key][d]; Qs, dAs [q][d]; Qt, dAt [d][q]; m, dℓ', offset
  static constexpr int BQB = 32, NJB = BQB / 8, LDQ = BQB + 8;
  static constexpr std::size_t dkdv_bytes =
      (2 * std::size_t(BK) * LDH + 2 * std::size_t(BQB) * LDH + 2 * std::size_t(D) * LDQ) * sizeof(bf16_bits_t) +
      3 * BQB * sizeof(float);
};

template <class TT, int D, class T>
__global__ void __launch_bounds__(TcCfg<D>::NT) fwd_tc_kernel(DevCtx<T> c, FwdOut<T> out) {
  using K = typename TT::kernel;
  using Cfg = TcCfg<D>;
  constexpr int BQ = Cfg::BQ, BK = Cfg::BK, NJ = Cfg::NJ, LDK = Cfg::LDK;
  bf16_bits_t* Ks = reinterpret_cast<bf16_bits_t*>(dyn_smem());
  bf16_bits_t* Vt = Ks + BK * Cfg::LDH;

  const int tid = threadIdx.x, w = tid >> 5, lane = tid & 31, g = lane >> 2, t = lane & 3;
  const int S = c.S;
  const int nqb = (S + BQ - 1) / BQ, nkb = (S + BK - 1) / BK;
  const TileGrid::Pos pos = TileGrid{nqb, c.H}.at(blockIdx.x);  // Note [tile grid]
  const int ib = nqb - 1 - pos.block;
  const int h = pos.head, b = pos.batch, hk = h / c.group;
  const int i0 = ib * BQ, R = imin(BQ, S - i0);
  const std::size_t row0 = c.row(b, h, i0);
  const T* Kh = c.K + (std::size_t(b) * c.Hkv + hk) * S * D;
  const T* Vh = c.V + (std::size_t(b) * c.Hkv + hk) * S * D;
  const T* gin = TT::has_in ? c.g_in + c.row(b, h, 0) : nullptr;
  const int r0 = w * 16 + g;  // this lane's rows: r0 (accumulator elements 0, 1) and r0 + 8 (elements 2, 3)

  std::uint32_t qa[D / 16][4];
  global_a_frags<D>(qa, c.Q + row0 * D, r0, R, t);
  float m[2], l[2], off[2], acc[D / 8][4];
  SINKLAB_UNROLL
  for (int x = 0; x < 2; ++x) {
    off[x] = K::row_offset(c.n_of(i0 + imin(r0 + 8 * x, R - 1)), c.S, 0.f);
    m[x] = TT::use_shift ? -INFINITY : 0.f;
    l[x] = 0.f;
  }
  SINKLAB_UNROLL
  for (int n = 0; n < D / 8; ++n) acc[n][0] = acc[n][1] = acc[n][2] = acc[n][3] = 0.f;

  if (c.slot) {  // the slot column in fp32, from global memory
    const T* ks = c.Ks + std::size_t(h) * D;
    SINKLAB_UNROLL
    for (int x = 0; x < 2; ++x) {
      const T* q = c.Q + (row0 + imin(r0 + 8 * x, R - 1)) * D;
      float part = 0.f;
      for (int d = t; d < D; d += 4) part = fmaf(float(q[d]), float(ks[d]), part);
      const float s = quad_sum(part) * c.scale + off[x];
      if (TT::use_shift) m[x] = s;
      const float wt = K::weight(s, m[x]);
      l[x] += K::mass(s, m[x]);
      if (c.slot_value) {
        const T* vs = c.Vs + std::size_t(h) * D;
        SINKLAB_UNROLL
        for (int n = 0; n < D / 8; ++n) {
          acc[n][2 * x] = wt * float(vs[n * 8 + 2 * t]);
          acc[n][2 * x + 1] = wt * float(vs[n * 8 + 2 * t + 1]);
        }
      }
    }
  }

  for (int jb = 0; jb < nkb; ++jb) {
    const int j0 = jb * BK, C = imin(BK, S - j0);
    const TileClass cls = c.win.classify(i0, i0 + R, j0, j0 + C);
    if (cls == TileClass::empty) continue;
    __syncthreads();
    load_bf16_rows<BK, D, Cfg::NT>(Ks, Kh + std::size_t(j0) * D, C, tid);
    load_bf16_cols<BK, D, Cfg::NT>(Vt, Vh + std::size_t(j0) * D, C, tid, TT::has_in ? gin + j0 : nullptr);
    __syncthreads();

    float s[NJ][4];
    mma_abt<D, NJ>(s, qa, Ks, g, t);
    const bool full = cls == TileClass::full && R == BQ && C == BK;
    bool vis[NJ][4];
    float mt[2] = {-INFINITY, -INFINITY};
    SINKLAB_UNROLL
    for (int j = 0; j < NJ; ++j)
      SINKLAB_UNROLL
      for (int e = 0; e < 4; ++e) {
        const int x = e >> 1, r = r0 + 8 * x, cc = j * 8 + 2 * t + (e & 1);
        vis[j][e] = full || (r < R && cc < C && c.win.visible(i0 + r, j0 + cc));
        s[j][e] = vis[j][e] ? finish_score(c, s[j][e], h, i0 + r, j0 + cc, off[x]) : 0.f;
        if (TT::use_shift && vis[j][e]) mt[x] = fmaxf(mt[x], s[j][e]);
      }
    SINKLAB_UNROLL
    for (int x = 0; x < 2; ++x) {
      if (TT::use_shift) {
        const float mx = quad_max(mt[x]);
        if (mx > m[x]) {
          const float alpha = m[x] == -INFINITY ? 0.f : expf(m[x] - mx);
          l[x] *= alpha;
          SINKLAB_UNROLL
          for (int n = 0; n < D / 8; ++n) acc[n][2 * x] *= alpha, acc[n][2 * x + 1] *= alpha;
          m[x] = mx;
        }
      }
    }
    float lsum[2] = {0.f, 0.f};
    SINKLAB_UNROLL
    for (int j = 0; j < NJ; ++j)
      SINKLAB_UNROLL
      for (int e = 0; e < 4; ++e) {
        const int x = e >> 1;
        float p = 0.f;
        if (vis[j][e]) {
          p = K::weight(s[j][e], m[x]);
          lsum[x] += K::separate_mass ? K::mass(s[j][e], m[x]) : p;
        }
        s[j][e] = p;
      }
    l[0] += quad_sum(lsum[0]);
    l[1] += quad_sum(lsum[1]);
    std::uint32_t pa[NJ / 2][4];
    acc_to_a<NJ>(pa, s);
    mma_ax<D, NJ / 2, LDK>(acc, pa, Vt, g, t);
  }

  SINKLAB_UNROLL
  for (int x = 0; x < 2; ++x) {
    const int r = r0 + 8 * x;
    if (r >= R) continue;
    T* dst = out.acc + (row0 + r) * D;
    SINKLAB_UNROLL
    for (int n = 0; n < D / 8; ++n) {
      dst[n * 8 + 2 * t] = T(acc[n][2 * x]);
      dst[n * 8 + 2 * t + 1] = T(acc[n][2 * x + 1]);
    }
    if (t == 0) {
      out.m[row0 + r] = T(m[x]);
      out.l[row0 + r] = T(l[x]);
    }
  }
}

// dQ with tensor cores: S = Q·Kᵀ, dP = da'·Vᵀ, dS (fp32) → dQ += dS·K. One CTA per (b, h, 64 queries).
template <class TT, int D, class T>
__global__ void __launch_bounds__(TcCfg<D>::NT) dq_tc_kernel(DevCtx<T> c, BwdTileArgs<T> a) {
  using K = typename TT::kernel;
  using Cfg = TcCfg<D>;
  constexpr int BQ = Cfg::BQ, BK = Cfg::BK, NJ = Cfg::NJ, LDH = Cfg::LDH, LDK = Cfg::LDK;
  bf16_bits_t* Ks = reinterpret_cast<bf16_bits_t*>(dyn_smem());
  bf16_bits_t* Vs = Ks + BK * LDH;
  bf16_bits_t* Kt = Vs + BK * LDH;
  float* gs = reinterpret_cast<float*>(Kt + D * LDK);

  const int tid = threadIdx.x, w = tid >> 5, lane = tid & 31, g = lane >> 2, t = lane & 3;
  const int S = c.S;
  const int nqb = (S + BQ - 1) / BQ, nkb = (S + BK - 1) / BK;
  const TileGrid::Pos pos = TileGrid{nqb, c.H}.at(blockIdx.x);  // Note [tile grid]
  const int ib = nqb - 1 - pos.block;
  const int h = pos.head, b = pos.batch, hk = h / c.group;
  const int i0 = ib * BQ, R = imin(BQ, S - i0);
  const std::size_t r0g = c.row(b, h, i0);
  const T* Kh = c.K + (std::size_t(b) * c.Hkv + hk) * S * D;
  const T* Vh = c.V + (std::size_t(b) * c.Hkv + hk) * S * D;
  const T* gin = TT::has_in ? c.g_in + c.row(b, h, 0) : nullptr;
  const int r0 = w * 16 + g;

  std::uint32_t qa[D / 16][4], da[D / 16][4];
  global_a_frags<D>(qa, c.Q + r0g * D, r0, R, t);
  global_a_frags<D>(da, a.dA + r0g * D, r0, R, t);
  float mi[2], dli[2], off[2], dq[D / 8][4];
  SINKLAB_UNROLL
  for (int x = 0; x < 2; ++x) {
    const int r = r0 + 8 * x;
    const bool in = r < R;
    mi[x] = in ? float(a.m[r0g + r]) : 0.f;
    dli[x] = in ? a.dL[r0g + r] : 0.f;
    off[x] = K::row_offset(c.n_of(i0 + (in ? r : R - 1)), c.S, 0.f);
  }
  SINKLAB_UNROLL
  for (int n = 0; n < D / 8; ++n) dq[n][0] = dq[n][1] = dq[n][2] = dq[n][3] = 0.f;

  for (int jb = 0; jb < nkb; ++jb) {
    const int j0 = jb * BK, C = imin(BK, S - j0);
    const TileClass cls = c.win.classify(i0, i0 + R, j0, j0 + C);
    if (cls == TileClass::empty) continue;
    __syncthreads();
    load_bf16_rows<BK, D, Cfg::NT>(Ks, Kh + std::size_t(j0) * D, C, tid);
    load_bf16_rows<BK, D, Cfg::NT>(Vs, Vh + std::size_t(j0) * D, C, tid);
    load_bf16_cols<BK, D, Cfg::NT>(Kt, Kh + std::size_t(j0) * D, C, tid);
    if constexpr (TT::has_in)
      for (int cc = tid; cc < BK; cc += Cfg::NT) gs[cc] = cc < C ? float(gin[j0 + cc]) : 0.f;
    __syncthreads();

    float s[NJ][4], dp[NJ][4];
    mma_abt<D, NJ>(s, qa, Ks, g, t);
    mma_abt<D, NJ>(dp, da, Vs, g, t);
    const bool full = cls == TileClass::full && R == BQ && C == BK;
    SINKLAB_UNROLL
    for (int j = 0; j < NJ; ++j)
      SINKLAB_UNROLL
      for (int e = 0; e < 4; ++e) {
        const int x = e >> 1, r = r0 + 8 * x, cc = j * 8 + 2 * t + (e & 1);
        float ds = 0.f;
        if (full || (r < R && cc < C && c.win.visible(i0 + r, j0 + cc))) {
          const float sv = finish_score(c, s[j][e], h, i0 + r, j0 + cc, off[x]);
          ds = dscore<K>(sv, mi[x], TT::has_in ? dp[j][e] * gs[cc] : dp[j][e], dli[x]);
        }
        s[j][e] = ds;
      }
    std::uint32_t dsa[NJ / 2][4];
    acc_to_a<NJ>(dsa, s);
    mma_ax<D, NJ / 2, LDK>(dq, dsa, Kt, g, t);
  }

  SINKLAB_UNROLL
  for (int x = 0; x < 2; ++x) {
    const int r = r0 + 8 * x;
    if (r >= R) continue;
    T* dst = a.dQ + (r0g + r) * D;
    SINKLAB_UNROLL
    for (int n = 0; n < D / 8; ++n) {
      const int d = n * 8 + 2 * t;
      dst[d] = T(float(dst[d]) + c.scale * dq[n][2 * x]);
      dst[d + 1] = T(float(dst[d + 1]) + c.scale * dq[n][2 * x + 1]);
    }
  }
}

// dK, dV with tensor cores (no input gate): one CTA per (b, kv head, 64 keys), a warp per 16 keys; for each query
// head of the group and each visible 32-query tile: Sᵀ = K·Qᵀ, dPᵀ = V·da'ᵀ, then Pᵀ and dSᵀ (fp32, per element as
// the fp32 tiles) → dV += Pᵀ·da', dK += dSᵀ·Q.
template <class TT, int D, class T>
__global__ void __launch_bounds__(TcCfg<D>::NT) dkdv_tc_kernel(DevCtx<T> c, BwdTileArgs<T> a) {
  static_assert(!TT::has_in, "input-gate variants take the fp32 dK/dV tiles");
  using K = typename TT::kernel;
  using Cfg = TcCfg<D>;
  constexpr int BK = Cfg::BK, BQB = Cfg::BQB, NJB = Cfg::NJB, LDH = Cfg::LDH, LDQ = Cfg::LDQ;
  bf16_bits_t* Ks = reinterpret_cast<bf16_bits_t*>(dyn_smem());
  bf16_bits_t* Vs = Ks + BK * LDH;
  bf16_bits_t* Qs = Vs + BK * LDH;
  bf16_bits_t* dAs = Qs + BQB * LDH;
  bf16_bits_t* Qt = dAs + BQB * LDH;
  bf16_bits_t* dAt = Qt + D * LDQ;
  float* rm = reinterpret_cast<float*>(dAt + D * LDQ);
  float* rdl = rm + BQB;
  float* roff = rdl + BQB;

  const int tid = threadIdx.x, w = tid >> 5, lane = tid & 31, g = lane >> 2, t = lane & 3;
  const int S = c.S;
  const int nqt = (S + BQB - 1) / BQB;
  const TileGrid::Pos pos = TileGrid{(S + BK - 1) / BK, c.Hkv}.at(blockIdx.x);  // Note [tile grid]
  const int jb = pos.block, hk = pos.head, b = pos.batch;
  const int j0 = jb * BK, C = imin(BK, S - j0);
  const std::size_t kv0 = (std::size_t(b) * c.Hkv + hk) * S + j0;
  const int k0 = w * 16 + g;  // this lane's keys: k0 (elements 0, 1) and k0 + 8 (elements 2, 3)

  load_bf16_rows<BK, D, Cfg::NT>(Ks, c.K + kv0 * D, C, tid);
  load_bf16_rows<BK, D, Cfg::NT>(Vs, c.V + kv0 * D, C, tid);  // read after the first query tile's barrier
  float dK[D / 8][4], dV[D / 8][4];
  SINKLAB_UNROLL
  for (int n = 0; n < D / 8; ++n)
    SINKLAB_UNROLL
    for (int e = 0; e < 4; ++e) dK[n][e] = dV[n][e] = 0.f;

  for (int h = hk * c.group; h < (hk + 1) * c.group; ++h) {
    for (int it = 0; it < nqt; ++it) {
      const int i0 = it * BQB, R = imin(BQB, S - i0);
      const TileClass cls = c.win.classify(i0, i0 + R, j0, j0 + C);
      if (cls == TileClass::empty) continue;
      const std::size_t r0g = c.row(b, h, i0);
      __syncthreads();
      load_bf16_rows<BQB, D, Cfg::NT>(Qs, c.Q + r0g * D, R, tid);
      load_bf16_rows<BQB, D, Cfg::NT>(dAs, a.dA + r0g * D, R, tid);
      load_bf16_cols<BQB, D, Cfg::NT>(Qt, c.Q + r0g * D, R, tid);
      load_bf16_cols<BQB, D, Cfg::NT>(dAt, a.dA + r0g * D, R, tid);
      for (int r = tid; r < BQB; r += Cfg::NT) {
        const bool in = r < R;
        rm[r] = in ? float(a.m[r0g + r]) : 0.f;
        rdl[r] = in ? a.dL[r0g + r] : 0.f;
        roff[r] = K::row_offset(c.n_of(i0 + (in ? r : R - 1)), c.S, 0.f);
      }
      __syncthreads();

      float st[NJB][4], dpt[NJB][4];  // [query n-tile]: rows = keys, columns = queries
      mma_sabt<D, NJB>(st, Ks + w * 16 * LDH, Qs, g, t);  // this warp's 16 keys
      mma_sabt<D, NJB>(dpt, Vs + w * 16 * LDH, dAs, g, t);
      const bool full = cls == TileClass::full && R == BQB && C == BK;
      SINKLAB_UNROLL
      for (int j = 0; j < NJB; ++j)
        SINKLAB_UNROLL
        for (int e = 0; e < 4; ++e) {
          const int kc = k0 + 8 * (e >> 1), q = j * 8 + 2 * t + (e & 1);
          float p = 0.f, ds = 0.f;
          if (full || (q < R && kc < C && c.win.visible(i0 + q, j0 + kc))) {
            const float sv = finish_score(c, st[j][e], h, i0 + q, j0 + kc, roff[q]);
            p = K::weight(sv, rm[q]);
            ds = dscore<K>(sv, rm[q], dpt[j][e], rdl[q]);
          }
          st[j][e] = p;
          dpt[j][e] = ds;
        }
      std::uint32_t pa[NJB / 2][4], dsa[NJB / 2][4];
      acc_to_a<NJB>(pa, st);
      acc_to_a<NJB>(dsa, dpt);
      mma_ax<D, NJB / 2, LDQ>(dV, pa, dAt, g, t);
      mma_ax<D, NJB / 2, LDQ>(dK, dsa, Qt, g, t);
    }
  }

  SINKLAB_UNROLL
  for (int x = 0; x < 2; ++x) {
    const int kc = k0 + 8 * x;
    if (kc >= C) continue;
    T* dk = a.dK + (kv0 + kc) * D;
    T* dv = a.dV + (kv0 + kc) * D;
    SINKLAB_UNROLL
    for (int n = 0; n < D / 8; ++n) {
      const int d = n * 8 + 2 * t;
      dk[d] = T(c.scale * dK[n][2 * x]), dk[d + 1] = T(c.scale * dK[n][2 * x + 1]);
      dv[d] = T(dV[n][2 * x]), dv[d + 1] = T(dV[n][2 * x + 1]);
    }
  }
}

}  // namespace sinklab::attention::cuda_detail
