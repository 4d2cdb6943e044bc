#pragma once
// Part of the fused CUDA attention; attention/fused_cuda.cuh has the plan and the entry points.
// Shared-memory tile helpers of the fp32 tile kernels: loads, the 4×4-per-thread score GEMM and the P·V and Pᵀ·X
// accumulations (all threads of the CTA call them).
#include "sinklab/backend/cuda/attention/context.cuh"

namespace sinklab::attention::cuda_detail {

// ---- shared-memory tile helpers (all threads of the CTA call them) -----------------------------------------------
// dst[r][d] = src[r·D + d] (× g[r] when g), zero for r ≥ nrows or d ≥ D (so dot products may run to round_up(D, 4)).
template <int ROWS, int DMAX, int LDD, class T>
__device__ __forceinline__ void load_tile(float* dst, const T* src, int nrows, int D, int tid,
                                          const T* g = nullptr) {
  for (int e = tid; e < ROWS * DMAX; e += kThreads) {
    const int r = e / DMAX, d = e % DMAX;
    float v = 0.f;
    if (r < nrows && d < D) {
      v = float(src[std::size_t(r) * D + d]);
      if (g) v = v * float(g[r]);
    }
    dst[r * LDD + d] = v;
  }
}

// acc[i][u] = Σ_d A[ty·RM + i][d] · B[tx + 16u][d] over d < Dr (Dr a multiple of 4).
template <int RM, int CM, int LDA, int LDB>
__device__ __forceinline__ void dot_tile(const float* A, const float* Bm, int Dr, int ty, int tx,
                                         float (&acc)[RM][CM]) {
SINKLAB_UNROLL
  for (int i = 0; i < RM; ++i)
SINKLAB_UNROLL
    for (int u = 0; u < CM; ++u) acc[i][u] = 0.f;
  for (int d = 0; d < Dr; d += 4) {
    float4 a[RM], bb[CM];
SINKLAB_UNROLL
    for (int i = 0; i < RM; ++i) a[i] = *reinterpret_cast<const float4*>(A + (ty * RM + i) * LDA + d);
SINKLAB_UNROLL
    for (int u = 0; u < CM; ++u) bb[u] = *reinterpret_cast<const float4*>(Bm + (tx + 16 * u) * LDB + d);
SINKLAB_UNROLL
    for (int i = 0; i < RM; ++i)
SINKLAB_UNROLL
      for (int u = 0; u < CM; ++u) {
        float s = acc[i][u];
        s = fmaf(a[i].x, bb[u].x, s);
        s = fmaf(a[i].y, bb[u].y, s);
        s = fmaf(a[i].z, bb[u].z, s);
        s = fmaf(a[i].w, bb[u].w, s);
        acc[i][u] = s;
      }
  }
}

// acc[i][k] += Σ_{c < NC} P[ty·RM + i][c] · X[c][tx + 16k]  (P row-major with stride LDP, NC a multiple of 4).
template <int RM, int DM, int NC, int LDP, int LDX>
__device__ __forceinline__ void acc_rows(const float* P, const float* X, int ty, int tx, float (&acc)[RM][DM]) {
SINKLAB_UNROLL_N(2)
  for (int c = 0; c < NC; c += 4) {
    float4 p[RM];
SINKLAB_UNROLL
    for (int i = 0; i < RM; ++i) p[i] = *reinterpret_cast<const float4*>(P + (ty * RM + i) * LDP + c);
SINKLAB_UNROLL
    for (int k = 0; k < DM; ++k) {
      const float x0 = X[(c + 0) * LDX + tx + 16 * k], x1 = X[(c + 1) * LDX + tx + 16 * k];
      const float x2 = X[(c + 2) * LDX + tx + 16 * k], x3 = X[(c + 3) * LDX + tx + 16 * k];
SINKLAB_UNROLL
      for (int i = 0; i < RM; ++i) {
        float s = acc[i][k];
        s = fmaf(p[i].x, x0, s);
        s = fmaf(p[i].y, x1, s);
        s = fmaf(p[i].z, x2, s);
        s = fmaf(p[i].w, x3, s);
        acc[i][k] = s;
      }
    }
  }
}

// acc[i][k] += Σ_{r < NR} P[r][ty·KM + i] · X[r][tx + 16k]  (Pᵀ·X: key rows of P are its columns).
template <int KM, int DM, int NR, int LDP, int LDX>
__device__ __forceinline__ void acc_cols(const float* P, const float* X, int ty, int tx, float (&acc)[KM][DM]) {
SINKLAB_UNROLL_N(4)
  for (int r = 0; r < NR; ++r) {
    float pk[KM];
SINKLAB_UNROLL
    for (int i = 0; i < KM; ++i) pk[i] = P[r * LDP + ty * KM + i];
SINKLAB_UNROLL
    for (int k = 0; k < DM; ++k) {
      const float x = X[r * LDX + tx + 16 * k];
SINKLAB_UNROLL
      for (int i = 0; i < KM; ++i) acc[i][k] = fmaf(pk[i], x, acc[i][k]);
    }
  }
}

// Score of (query row i, key j) from the raw dot product: scale·q·k + bias(h, j − i) + row offset (CPU: tile_scores).
template <class T>
__device__ __forceinline__ float finish_score(const DevCtx<T>& c, float dot, int h, int i, int j, float off) {
  float s = dot * c.scale;
  if (c.bias)
    s += c.bias[std::size_t(h) * c.bias_width + (j - i + c.S - 1)] + off;
  else
    s += off;
  return s;
}

}  // namespace sinklab::attention::cuda_detail
