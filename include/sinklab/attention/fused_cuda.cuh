#pragma once
// Fused CUDA attention, forward and backward, for any Variant — one templated kernel family driven by the same
// __host__ __device__ policy functors as the CPU op (fused_cpu.hpp), with the same structs, layouts and saved
// statistics, so the two are compared element by element (tests/cuda/test_attention_fused.cu).
//
// Every pointer in AttentionParams / Inputs / Outputs / Saved / Grads is a DEVICE pointer (alibi_slopes and
// bucket_table too). Work is queued on `stream`; nothing synchronises. Storage T = float; fp32 SIMT arithmetic
// unless CudaMath::bf16_tensor_cores is asked for (below). Scratch comes from the caching allocator.
//
// Split of the work (Note [two template axes]). The quadratic tile loops depend only on the score kernel κ, on
// whether the running max is subtracted (V::use_shift) and on the input gate; the row epilogue depends on the row
// stage, vector stage and output gate. So the heavy kernels are templated on TileTraits<κ, shift, in-gate> (11
// distinct ones behind the 47 registry names; feature kernels share one per clamp value since φ runs in a pre-pass)
// and the light per-row kernels on the whole Variant:
//
// forward   (0) feature kernels: qf = φ(q), kf = φ(k), sf = φ(k_slot) (one thread per row, Phi::forward);
//               score biases: the (H, 2S−1) table of window.hpp built on the device.
//           (1) fwd_tile_kernel<TT, DMAX>: one CTA (256 threads) per (b, h, 64-query block), later blocks first.
//               Q tile in shared memory; per 64-key tile (classify: empty skipped, full unmasked, partial masked):
//               S = Q·Kᵀ (4×4 scores per thread), running max m (only when use_shift; 16-lane shuffles), P = κ
//               shifted, shifted mass ℓ', a' = a'·α + P·Ṽ (4 rows × DMAX/16 columns per thread, registers).
//               The slot is key column −1. Writes a' (into saved.pre_norm), m, ℓ'.
//           (2) fwd_rows_kernel<V>: one thread per row: ρ = Row::rho(ℓ', n_i, m, b_h), ũ = a'/ρ (saved.pre_norm),
//               o = gates ∘ Vec::forward — the CPU's row_forward, line by line.
// backward  (A) bwd_rows_kernel<V>: one thread per row: the CPU's row_backward → da'_i (scratch), dℓ'_i, dg_out,
//               per-row partials of dnorm_weight/bias and dsink, and the slot column (dq share, ds and w for
//               dk_slot/dv_slot).
//           (B) dkdv_tile_kernel<TT, DMAX>: one CTA per (b, kv head, key block): K, V tile resident; for every query
//               head of the group and every visible query block, recompute s from the saved m, form
//               ds = dweight·(da'·ṽ) + dmass·dℓ' and accumulate dK, dV (and dṽ → dg_in per head) in registers.
//               dq_tile_kernel<TT, DMAX>: one CTA per (b, h, query block), the same recompute over key blocks,
//               dQ += dS·K. Separate passes, no atomics: bitwise deterministic.
//           (C) feature-map backward (Phi::backward per row; SharedMLP as outer-product sums).
//           (D) fixed-order two-level reductions for the shared parameters (dnorm_weight/bias, dsink, slots, MLP).
//
// DMAX ∈ {64, 128, 256} is the compile-time head-dim capacity of the tile kernels (register accumulators and
// shared-memory strides); the head dim itself is a runtime value (any D ≤ 256; D ∈ {32, 64, 96, 128, 192} tested).
//
// CudaMath::bf16_tensor_cores (opt-in, any_attention_cuda.hpp) swaps the three tile kernels for fwd_tc_kernel,
// dkdv_tc_kernel and dq_tc_kernel: 4 warps × 16 rows, the GEMMs on mma.sync.m16n8k16 (bf16 operands, fp32
// accumulation), everything per element unchanged. D ∈ {64, 128}; other head dims (and the dK/dV pass of
// input-gate variants) keep the fp32 tiles.
//
// Compiled by nvcc; with SINKLAB_CUDA_EMULATE the same kernels compile as host code and run on the CPU emulator of
// src/cuda/attention/emu/cuda_emu.hpp (tests of the tiling and indexing without a GPU).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#if defined(SINKLAB_CUDA_EMULATE)
#ifndef SINKLAB_CUDA_EMU_ACTIVE
#error "SINKLAB_CUDA_EMULATE: include src/cuda/attention/emu/cuda_emu.hpp before fused_cuda.cuh"
#endif
#else
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include "sinklab/backend/cuda/allocator.cuh"
#include "sinklab/backend/cuda/check.cuh"
#include "sinklab/backend/cuda/launch_limits.hpp"
#endif

#include "sinklab/attention/any_attention_cuda.hpp"  // CudaMath
#include "sinklab/attention/params.hpp"
#include "sinklab/attention/variant.hpp"

// `#pragma unroll` for nvcc; nothing for the host compiler (the emulator).
#if defined(__CUDACC__)
#define SINKLAB_UNROLL _Pragma("unroll")
#define SINKLAB_UNROLL_N(n) _Pragma(SINKLAB_STRINGIFY_(unroll n))
#define SINKLAB_STRINGIFY_(x) #x
#else
#define SINKLAB_UNROLL
#define SINKLAB_UNROLL_N(n)
#endif

namespace sinklab::attention {
namespace cuda_detail {

// ---- the CUDA surface the host code uses (the emulator provides the same names) ----------------------------------
#if !defined(SINKLAB_CUDA_EMULATE)
inline void* dev_alloc(std::size_t bytes, cudaStream_t s) { return backend::cuda::device_allocate(bytes, s); }
inline void dev_free(void* p) {
  if (p) backend::cuda::device_free(p);
}
inline void dev_zero(void* p, std::size_t bytes, cudaStream_t s) {
  if (bytes) SINKLAB_CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, s));
}
// From pageable host memory: returns once the source is staged, so the host buffer may go right after.
inline void dev_upload(void* dst, const void* src, std::size_t bytes, cudaStream_t s) {
  if (bytes) SINKLAB_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, s));
}
template <class... P, class... A>
void launch(void (*kern)(P...), dim3 grid, dim3 block, std::size_t smem, cudaStream_t s, A&&... args) {
  if (grid.x == 0 || grid.y == 0 || grid.z == 0) return;
  const std::string why = backend::cuda::launch_limit_violation(grid, block, smem);  // as the emulator checks
  SINKLAB_CHECK(why.empty(), "attention (cuda): a kernel launch past the device's limits: ", why);
  if (smem > 48 * 1024)
    SINKLAB_CUDA_CHECK(cudaFuncSetAttribute(kern, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
  kern<<<grid, block, smem, s>>>(static_cast<A&&>(args)...);
  SINKLAB_CUDA_CHECK(cudaGetLastError());
}
__device__ __forceinline__ float* dyn_smem() {
  extern __shared__ float4 sinklab_attention_smem[];
  return reinterpret_cast<float*>(sinklab_attention_smem);
}
#else
using ::sinklab_emu::dev_alloc;
using ::sinklab_emu::dev_free;
using ::sinklab_emu::dev_upload;
using ::sinklab_emu::dev_zero;
using ::sinklab_emu::dyn_smem;
using ::sinklab_emu::launch;
#endif

// Scratch device memory for one call, returned to the caching pool (stream-ordered) at scope exit.
struct Scratch {
  cudaStream_t stream;
  std::vector<void*> blocks;
  explicit Scratch(cudaStream_t s) : stream(s) {}
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch() {
    for (void* p : blocks) dev_free(p);
  }
  template <class U>
  U* get(std::size_t n, bool zero = false) {
    if (n == 0) return nullptr;
    void* p = dev_alloc(n * sizeof(U), stream);
    blocks.push_back(p);
    if (zero) dev_zero(p, n * sizeof(U), stream);
    return static_cast<U*>(p);
  }
};

__device__ __forceinline__ int imin(int a, int b) { return a < b ? a : b; }

// Sum / max over the 16 lanes of a half warp (lanes 0–15 or 16–31); every lane gets the result.
__device__ __forceinline__ float half_warp_sum(float v) {
  v += __shfl_xor_sync(0xffffffffu, v, 8);
  v += __shfl_xor_sync(0xffffffffu, v, 4);
  v += __shfl_xor_sync(0xffffffffu, v, 2);
  v += __shfl_xor_sync(0xffffffffu, v, 1);
  return v;
}
__device__ __forceinline__ float half_warp_max(float v) {
  v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 8));
  v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 4));
  v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 2));
  v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 1));
  return v;
}

// ---- per-call context -----------------------------------------------------------------------------------------
// Everything the tile kernels read, by value. Q/K are the feature-mapped q/k for feature kernels.
template <class T>
struct DevCtx {
  int B, H, Hkv, S, D, group;
  float scale;
  Window win;
  int slot, slot_value;
  const T* Q;         // (B, H, S, D)
  const T* K;         // (B, Hkv, S, D)
  const T* V;         // (B, Hkv, S, D)
  const T* Ks;        // (H, D) slot keys or null
  const T* Vs;        // (H, D) slot values or null
  const T* g_in;      // (B, H, S) or null
  const float* bias;  // (H, 2S − 1) or null (window.hpp, Note [one window type])
  int bias_width;

  __host__ __device__ std::size_t row(int b, int h, int i) const { return (std::size_t(b) * H + h) * S + i; }
  __host__ __device__ int n_of(int i) const { return win.count(i, S) + slot; }
};

// ---- the tile kernels' grid ---------------------------------------------------------------------------------------
// Note [tile grid]: a tile kernel runs one CTA per (row block, head, batch). gridDim.y and gridDim.z are at most
// 65535 on every CUDA device while B (or B·H) can be larger, so all three are folded into blockIdx.x (at most
// 2³¹ − 1), row block fastest: CTAs start in the order the (blocks, heads, B) grid gave them, so the later query
// blocks of a head (the longest rows under a causal mask) still go first. Long reductions (colsum_partial_kernel,
// outer_partial_kernel) fold their chunk axis into x the same way.
struct TileGrid {
  int blocks, heads;  // row blocks per (b, head); heads: H for query-block kernels, Hkv for key-block kernels
  struct Pos {
    int block, head, batch;
  };
  __host__ __device__ Pos at(unsigned x) const {
    const unsigned bh = x / unsigned(blocks);
    return {int(x % unsigned(blocks)), int(bh % unsigned(heads)), int(bh / unsigned(heads))};
  }
};
// A one-dimensional grid of n CTAs; `what` names the launch in the error past 2³¹ − 1.
inline dim3 folded_grid(long long n, const char* what) {
  SINKLAB_CHECK(n <= 2147483647LL, "attention (cuda): ", what, " needs ", n,
                " CTAs, more than one launch can have (2^31 - 1)");
  return dim3(unsigned(n));
}
inline dim3 tile_grid(int blocks, int heads, int batch, const char* what) {
  return folded_grid((long long)blocks * heads * batch, what);
}

// ---- tile traits (Note [two template axes]) ---------------------------------------------------------------------
template <class K>
struct canonical_kernel {
  using type = K;
};
// A feature kernel's score map depends on its clamp alone (φ and the scale are applied before the tiles).
template <class Phi, ScaleMode Sc, int Clamp>
struct canonical_kernel<kernel::Feature<Phi, Sc, Clamp>> {
  using type = kernel::Feature<kernel::phi::Identity, ScaleMode::unit, Clamp>;
};

template <class K, bool Shift, bool In>
struct TileTraits {
  using kernel = K;
  static constexpr bool use_shift = Shift, has_in = In;
};
template <class V>
using tile_traits_of = TileTraits<typename canonical_kernel<typename V::kernel>::type, V::use_shift, V::gate::has_in>;

// ---- tile geometry ------------------------------------------------------------------------------------------------
inline constexpr int kThreads = 256;  // 16 × 16: ty = tid / 16 picks rows, tx = tid % 16 columns
inline constexpr int kRowThreads = 128;

template <int DMAX>
struct FwdCfg {
  static_assert(DMAX % 16 == 0 && DMAX <= 256, "DMAX: a multiple of 16, at most 256");
  static constexpr int BQ = 64, BK = 64, RM = BQ / 16, CM = BK / 16, DM = DMAX / 16;
  static constexpr int LDD = DMAX + 4, LDP = BK + 4;  // +4 floats: conflict-free float4 rows
  static constexpr std::size_t smem_floats = std::size_t(BQ) * LDD + 2 * std::size_t(BK) * LDD + std::size_t(BQ) * LDP;
};

template <int DMAX>
struct BwdCfg {
  static_assert(DMAX % 16 == 0 && DMAX <= 256, "DMAX: a multiple of 16, at most 256");
  static constexpr int BQ = 64, BK = DMAX > 128 ? 32 : 64;
  static constexpr int RM = BQ / 16, CM = BK / 16, KM = BK / 16, DM = DMAX / 16;
  static constexpr int LDD = DMAX + 4, LDP = BK + 4;
  static constexpr std::size_t dkdv_floats =
      2 * std::size_t(BK) * LDD + 2 * std::size_t(BQ) * LDD + 2 * std::size_t(BQ) * LDP + 3 * BQ;
  static constexpr std::size_t dq_floats =
      2 * std::size_t(BQ) * LDD + 2 * std::size_t(BK) * LDD + std::size_t(BQ) * LDP + BK;
};

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

// ---- per-row kernels (one thread per row; the CPU epilogue's math through the same functors) -------------------
inline constexpr int kRowMax = kernel::phi::max_head_dim;  // per-thread scratch rows, as the CPU's row_forward

template <class T>
struct RowArgs {
  int B, H, S, D;
  Window win;
  int slot, slot_value;
  float scale;
  const T* Q;  // feature-mapped q
  const T* Ks;
  const T* v_slot;
  const T* sink;
  const T* g_out;
  const T* norm_w;
  const T* norm_b;
  __host__ __device__ std::size_t rows() const { return std::size_t(B) * H * S; }
};

template <class V>
__host__ __device__ inline float log_scale(float m) {  // σ_i (Note [shifted domain])
  if constexpr (V::row_stage::shift_equivariant)
    return 0.f;
  else
    return m;
}

// (2) forward row epilogue: ũ = a'/ρ in place, o = row_forward(ũ).
template <class V, class T>
__global__ void __launch_bounds__(kRowThreads) fwd_rows_kernel(RowArgs<T> a, T* pre_norm, const T* mrow, const T* lrow,
                                                               T* o) {
  using G = typename V::gate;
  using Vec = typename V::vector_stage;
  using Row = typename V::row_stage;
  const std::size_t row = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (row >= a.rows()) return;
  const int D = a.D, i = int(row % a.S), h = int((row / a.S) % a.H);
  T* u = pre_norm + row * D;
  const T m = mrow[row], l = lrow[row];
  const int n = a.win.count(i, a.S) + a.slot;
  T sink = T(0);
  if constexpr (Row::uses_sink_logit) sink = a.sink[h];
  const T rho = Row::rho(l, n, m, sink);
  for (int d = 0; d < D; ++d) u[d] = u[d] / rho;
  // row_forward (epilogue.hpp)
  T ybuf[G::has_out && G::out_pre_norm ? kRowMax : 1], zbuf[G::has_out && !G::out_pre_norm ? kRowMax : 1];
  const T* g = G::has_out ? a.g_out + row * (G::out_elementwise ? D : 1) : nullptr;
  const T* y = u;
  if constexpr (G::has_out && G::out_pre_norm) {
    G::apply_out(u, ybuf, g, D);
    y = ybuf;
  }
  T* orow = o + row * D;
  if constexpr (G::has_out && !G::out_pre_norm) {
    Vec::forward(y, zbuf, D, T(log_scale<V>(m)), a.norm_w, a.norm_b);
    G::apply_out(zbuf, orow, g, D);
  } else {
    Vec::forward(y, orow, D, T(log_scale<V>(m)), a.norm_w, a.norm_b);
  }
}

template <class T>
struct RowBwdOut {
  float* dA;         // (rows, D) da'
  float* dL;         // (rows) dℓ'
  T* dg_out;         // like g_out, or null
  float* dw;         // (rows, D) per-row dnorm_weight partials (zeroed), or null
  float* db;         // (rows, D) per-row dnorm_bias partials (zeroed), or null
  float* dsink;      // (rows) per-row dsink partials, or null
  T* dQ;             // (rows, D): the slot's share of dq (feature space), or 0
  float* slot_ds;    // (rows) scale·ds of the slot column, or null
  float* slot_w;     // (rows) weight of the slot column (KV slot), or null
};

// (A) row epilogue backward (row_backward) + the slot column.
template <class V, class T>
__global__ void __launch_bounds__(kRowThreads) bwd_rows_kernel(RowArgs<T> a, const T* pre_norm, const T* mrow,
                                                               const T* lrow, const T* dout, RowBwdOut<T> r) {
  using K = typename V::kernel;
  using G = typename V::gate;
  using Vec = typename V::vector_stage;
  using Row = typename V::row_stage;
  const std::size_t row = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (row >= a.rows()) return;
  const int D = a.D, i = int(row % a.S), h = int((row / a.S) % a.H);
  const T* u = pre_norm + row * D;
  const T m = mrow[row], l = lrow[row];
  const T sigma = T(log_scale<V>(m));
  const T* g = G::has_out ? a.g_out + row * (G::out_elementwise ? D : 1) : nullptr;
  T* dgo = G::has_out ? r.dg_out + row * (G::out_elementwise ? D : 1) : nullptr;
  float* da = r.dA + row * D;
  constexpr bool pre = G::has_out && G::out_pre_norm, post = G::has_out && !G::out_pre_norm;
  T ybuf[pre ? kRowMax : 1], zbuf[post ? kRowMax : 1], dzbuf[post ? kRowMax : 1], dybuf[kRowMax];
  const T* y = u;
  if constexpr (pre) {
    G::apply_out(u, ybuf, g, D);
    y = ybuf;
  }
  const T* dz = dout + row * D;
  if constexpr (post) {
    Vec::forward(y, zbuf, D, sigma, a.norm_w, a.norm_b);
    G::backward_out(zbuf, dout + row * D, g, dzbuf, dgo, D);
    dz = dzbuf;
  }
  Vec::backward(y, dz, dybuf, D, sigma, a.norm_w, Vec::has_weight ? r.dw + row * D : nullptr,
                Vec::has_bias ? r.db + row * D : nullptr);
  if constexpr (pre)
    G::backward_out(u, dybuf, g, da, dgo, D);  // da holds dũ for now
  else
    for (int d = 0; d < D; ++d) da[d] = dybuf[d];
  const int n = a.win.count(i, a.S) + a.slot;
  T sink = T(0);
  if constexpr (Row::uses_sink_logit) sink = a.sink[h];
  const T rho = Row::rho(l, n, m, sink);
  T du_u = T(0);
  for (int d = 0; d < D; ++d) du_u += da[d] * u[d];
  const T drho = -du_u / rho;
  for (int d = 0; d < D; ++d) da[d] /= rho;
  T dl = T(0);
  if constexpr (!V::detached_denominator) {
    dl = drho * Row::drho_dl(l, n, m, sink);
    if constexpr (Row::uses_sink_logit) r.dsink[row] = drho * Row::drho_db(l, n, m, sink);
  } else if constexpr (Row::uses_sink_logit) {
    r.dsink[row] = 0.f;
  }
  r.dL[row] = dl;

  T* dq = r.dQ + row * D;
  if (a.slot) {
    const T* q = a.Q + row * D;
    const T* ks = a.Ks + std::size_t(h) * D;
    T s = T(0), dp = T(0);
    for (int d = 0; d < D; ++d) s += q[d] * ks[d];
    s = s * T(a.scale) + K::row_offset(n, a.S, T(0));
    if (a.slot_value) {
      const T* vs = a.v_slot + std::size_t(h) * D;
      for (int d = 0; d < D; ++d) dp += da[d] * vs[d];
      r.slot_w[row] = K::weight(s, m);
    }
    const T ds = K::dweight(s, m) * dp + K::dmass(s, m) * dl;
    const T sds = T(a.scale) * ds;
    r.slot_ds[row] = sds;
    for (int d = 0; d < D; ++d) dq[d] = sds * ks[d];
  } else {
    for (int d = 0; d < D; ++d) dq[d] = T(0);
  }
}

// ---- feature maps, score-bias table, reductions ------------------------------------------------------------------
template <class Phi, class T>
__global__ void __launch_bounds__(kRowThreads) phi_forward_kernel(const T* x, T* y, std::size_t n, int D, const T* w1,
                                                                  const T* w2) {
  const std::size_t r = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r >= n) return;
  Phi::forward(x + r * D, y + r * D, D, kernel::PhiParams<T>{w1, w2});
}
template <class Phi, class T>
__global__ void __launch_bounds__(kRowThreads) phi_backward_kernel(const T* x, const T* dy, T* dx, std::size_t n,
                                                                   int D) {
  const std::size_t r = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r >= n) return;
  Phi::backward(x + r * D, dy + r * D, dx + r * D, D, kernel::PhiParams<T>{}, static_cast<T*>(nullptr),
                static_cast<T*>(nullptr));
}

// SharedMLP backward, per row (CPU: phi_backward_rows): h = W1·x, r = relu(h), dh = (W2ᵀ·dy)⊙[h > 0],
// dx = W1ᵀ·dh; r, dh, x and dy go to the concatenated (N, D) arrays for the weight gradients.
template <class T>
__global__ void __launch_bounds__(kRowThreads) mlp_backward_rows_kernel(const T* x, const T* dy, T* dx, std::size_t n,
                                                                        int D, const T* w1, const T* w2, float* Xc,
                                                                        float* Yc, float* Rc, float* Hc) {
  const std::size_t r = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r >= n) return;
  const T* xr = x + r * D;
  const T* dyr = dy + r * D;
  float* hr = Hc + r * D;  // h, then dh
  for (int o = 0; o < D; ++o) {
    float acc = 0.f;
    for (int i = 0; i < D; ++i) acc += float(w1[o * D + i]) * float(xr[i]);
    hr[o] = acc;
    Rc[r * D + o] = acc > 0.f ? acc : 0.f;
    Xc[r * D + o] = float(xr[o]);
    Yc[r * D + o] = float(dyr[o]);
  }
  for (int i = 0; i < D; ++i) {
    float acc = 0.f;
    for (int o = 0; o < D; ++o) acc += float(w2[o * D + i]) * float(dyr[o]);
    hr[i] = hr[i] > 0.f ? acc : 0.f;
  }
  for (int i = 0; i < D; ++i) {
    float acc = 0.f;
    for (int o = 0; o < D; ++o) acc += float(w1[o * D + i]) * hr[o];
    dx[r * D + i] = T(acc);
  }
}

// part[chunk][o·D + i] = Σ_{rows of the chunk} A[row][o]·Bm[row][i]  (dW = Aᵀ·B in fixed-size chunks).
// Grid: (D·D blocks) × chunks folded into x, element block fastest (Note [tile grid]: chunks may pass 65535).
template <class T>
__global__ void __launch_bounds__(kRowThreads) outer_partial_kernel(const float* A, const float* Bm, std::size_t n,
                                                                    int D, int chunk, float* part) {
  const unsigned eblocks = (unsigned(D * D) + blockDim.x - 1) / blockDim.x;
  const int e = int(blockIdx.x % eblocks * blockDim.x + threadIdx.x);
  const std::size_t ch = blockIdx.x / eblocks;
  if (e >= D * D) return;
  const int o = e / D, i = e % D;
  const std::size_t r0 = ch * chunk, r1 = r0 + chunk < n ? r0 + chunk : n;
  float acc = 0.f;
  for (std::size_t r = r0; r < r1; ++r) acc = fmaf(A[r * D + o], Bm[r * D + i], acc);
  part[ch * D * D + e] = acc;
}

// Grouped, weighted column sums in a fixed order (two levels: chunks of rows, then the chunks in order):
//   out[g][w] = Σ_{b < nb} Σ_{i < len} a[row]·X[row·W + w],  row = (b·G + g)·len + i;  a or X null → 1.
// Grid: (W blocks) × nchunks × G folded into x, column block fastest (Note [tile grid]: B·H·S / 1024 chunks pass
// 65535 at 64M rows).
template <class XT>
__global__ void __launch_bounds__(kRowThreads) colsum_partial_kernel(const float* a, const XT* X, int nb, int G,
                                                                     int len, int W, int chunk, int nchunks,
                                                                     float* part) {
  const unsigned wblocks = (unsigned(W) + blockDim.x - 1) / blockDim.x, rest = blockIdx.x / wblocks;
  const int w = int(blockIdx.x % wblocks * blockDim.x + threadIdx.x);
  const int ch = int(rest % unsigned(nchunks)), g = int(rest / unsigned(nchunks));
  if (w >= W) return;
  const long total = long(nb) * len, r0 = long(ch) * chunk, r1 = r0 + chunk < total ? r0 + chunk : total;
  float acc = 0.f;
  for (long rr = r0; rr < r1; ++rr) {
    const std::size_t row = (std::size_t(rr / len) * G + g) * len + std::size_t(rr % len);
    const float x = X ? float(X[row * W + w]) : 1.f;
    acc = a ? fmaf(a[row], x, acc) : acc + x;
  }
  part[(std::size_t(g) * nchunks + ch) * W + w] = acc;
}
template <class OT>
__global__ void __launch_bounds__(kRowThreads) sum_chunks_kernel(const float* part, int G, int nchunks, int W,
                                                                 OT* out) {
  const int e = blockIdx.x * blockDim.x + threadIdx.x;
  if (e >= G * W) return;
  const int g = e / W, w = e % W;
  float acc = 0.f;
  for (int ch = 0; ch < nchunks; ++ch) acc += part[(std::size_t(g) * nchunks + ch) * W + w];
  out[e] = OT(acc);
}

// bias[h][idx] = slope_h·(idx − (S − 1)) (ALiBi) or table_h[bucket[idx]] / bucket[idx] (relative buckets), in
// double and rounded once, as make_bias_table does.
template <class T>
__global__ void __launch_bounds__(kRowThreads) bias_table_kernel(int alibi, const double* std_slopes,
                                                                 const T* user_slopes, const int* bucket,
                                                                 const T* table, int H, int S, float* out) {
  const int W = 2 * S - 1;
  const long e = long(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= long(H) * W) return;
  const int h = int(e / W), idx = int(e % W), off = idx - (S - 1);
  double v;
  if (alibi)
    v = (user_slopes ? double(user_slopes[h]) : std_slopes[h]) * off;
  else
    v = table ? double(table[h * relative_num_buckets + bucket[idx]]) : double(bucket[idx]);
  out[e] = float(v);
}

inline unsigned row_blocks(std::size_t n) { return unsigned((n + kRowThreads - 1) / kRowThreads); }

template <class XT, class OT>
void grouped_colsum(Scratch& sc, const float* a, const XT* X, int nb, int G, int len, int W, OT* out,
                    cudaStream_t s) {
  constexpr int chunk = 1024;
  const long total = long(nb) * len;
  const int nchunks = int((total + chunk - 1) / chunk);
  float* part = sc.get<float>(std::size_t(G) * nchunks * W);
  const dim3 grid = folded_grid((long long)((W + kRowThreads - 1) / kRowThreads) * nchunks * G, "a column sum");
  launch(&colsum_partial_kernel<XT>, grid, dim3(kRowThreads), 0, s, a, X, nb, G, len, W, chunk, nchunks, part);
  launch(&sum_chunks_kernel<OT>, dim3(row_blocks(std::size_t(G) * W)), dim3(kRowThreads), 0, s,
         static_cast<const float*>(part), G, nchunks, W, out);
}

// ---- host orchestration -----------------------------------------------------------------------------------------
// The call's context: checks (as Context in epilogue.hpp), scale, window, bias table and feature-mapped q/k/slot.
template <class V, class T>
struct Prepared {
  using K = typename V::kernel;
  using Row = typename V::row_stage;
  using Vec = typename V::vector_stage;
  using G = typename V::gate;
  DevCtx<T> c{};
  RowArgs<T> ra{};

  Prepared(const AttentionParams<T>& p, const Inputs<T>& in, Scratch& sc, cudaStream_t s) {
    check_shape(p);
    SINKLAB_CHECK(in.q && in.k && in.v, "attention (cuda): q, k and v are required");
    if constexpr (G::has_in)
      SINKLAB_CHECK(in.g_in, "attention (cuda): this variant has an input gate; g_in (B, H, S) is required");
    if constexpr (G::has_out)
      SINKLAB_CHECK(in.g_out, "attention (cuda): this variant has an output gate; g_out (B, H, S",
                    G::out_elementwise ? ", D" : "", ") is required");
    if constexpr (Vec::has_weight) SINKLAB_CHECK(in.norm_weight, "attention (cuda): ", Vec::name, " needs norm_weight");
    if constexpr (Vec::has_bias) SINKLAB_CHECK(in.norm_bias, "attention (cuda): ", Vec::name, " needs norm_bias");
    if constexpr (Row::uses_sink_logit) SINKLAB_CHECK(in.sink_logit, "attention (cuda): RowSumPlusSink needs sink_logit");
    if constexpr (K::is_feature) {
      if constexpr (K::phi_type::learnable)
        SINKLAB_CHECK(in.mlp_w1 && in.mlp_w2, "attention (cuda): the shared-MLP feature map needs mlp_w1, mlp_w2");
      SINKLAB_CHECK(p.window.bias == BiasKind::none, "attention (cuda): score biases act on scores; feature kernel '",
                    K::name, "' has none to add them to");
    }
    const int B = p.B, H = p.H, S = p.S, D = p.D;
    c.B = B, c.H = H, c.Hkv = p.Hkv, c.S = S, c.D = D, c.group = p.H / p.Hkv;
    // the CPU's formula in T (Context): 1/√D in T unless the variant or the caller says otherwise
    c.scale = float(p.scale != T(0) ? p.scale
                                    : (K::scale_mode == ScaleMode::unit ? T(1) : T(1) / std::sqrt(static_cast<T>(D))));
    c.win = Window::from(p.window, S);
    c.slot = p.window.slot != SlotKind::none;
    c.slot_value = p.window.slot == SlotKind::kv;
    if (c.slot) SINKLAB_CHECK(in.k_slot, "attention (cuda): a sink slot needs k_slot (H, D)");
    if (c.slot_value) SINKLAB_CHECK(in.v_slot, "attention (cuda): a KV sink slot needs v_slot (H, D)");
    c.Q = in.q, c.K = in.k, c.V = in.v;
    c.Ks = c.slot ? in.k_slot : nullptr;
    c.Vs = c.slot_value ? in.v_slot : nullptr;
    c.g_in = in.g_in;
    c.bias = nullptr;
    c.bias_width = 2 * S - 1;
    if (p.window.bias != BiasKind::none) {
      const bool alibi = p.window.bias == BiasKind::alibi;
      double* slopes = nullptr;
      int* bucket = nullptr;
      if (alibi && !p.alibi_slopes) {
        const std::vector<double> std_slopes = alibi_slopes(H);
        slopes = sc.get<double>(std_slopes.size());
        dev_upload(slopes, std_slopes.data(), std_slopes.size() * sizeof(double), s);
      }
      if (!alibi) {
        std::vector<int> bk(std::size_t(2 * S - 1));
        for (int idx = 0; idx < 2 * S - 1; ++idx) bk[idx] = relative_bucket(-(idx - (S - 1)));
        bucket = sc.get<int>(bk.size());
        dev_upload(bucket, bk.data(), bk.size() * sizeof(int), s);
      }
      float* table = sc.get<float>(std::size_t(H) * c.bias_width);
      launch(&bias_table_kernel<T>, dim3(row_blocks(std::size_t(H) * c.bias_width)), dim3(kRowThreads), 0, s,
             int(alibi), static_cast<const double*>(slopes), p.alibi_slopes, static_cast<const int*>(bucket),
             p.bucket_table, H, S, table);
      c.bias = table;
    }
    if constexpr (K::is_feature) {
      using Phi = typename K::phi_type;
      const std::size_t nq = p.row_count(), nk = std::size_t(B) * p.Hkv * S;
      T* qf = sc.get<T>(nq * D);
      T* kf = sc.get<T>(nk * D);
      launch(&phi_forward_kernel<Phi, T>, dim3(row_blocks(nq)), dim3(kRowThreads), 0, s, in.q, qf, nq, D, in.mlp_w1,
             in.mlp_w2);
      launch(&phi_forward_kernel<Phi, T>, dim3(row_blocks(nk)), dim3(kRowThreads), 0, s, in.k, kf, nk, D, in.mlp_w1,
             in.mlp_w2);
      c.Q = qf, c.K = kf;
      if (c.slot) {
        T* sf = sc.get<T>(std::size_t(H) * D);
        launch(&phi_forward_kernel<Phi, T>, dim3(row_blocks(std::size_t(H))), dim3(kRowThreads), 0, s, in.k_slot, sf,
               std::size_t(H), D, in.mlp_w1, in.mlp_w2);
        c.Ks = sf;
      }
    }
    ra.B = B, ra.H = H, ra.S = S, ra.D = D, ra.win = c.win, ra.slot = c.slot, ra.slot_value = c.slot_value;
    ra.scale = c.scale, ra.Q = c.Q, ra.Ks = c.Ks, ra.v_slot = c.Vs, ra.sink = in.sink_logit, ra.g_out = in.g_out;
    ra.norm_w = in.norm_weight, ra.norm_b = in.norm_bias;
  }
};

template <class V, class T>
void forward_impl(const AttentionParams<T>& p, const Inputs<T>& in, Outputs<T>& out, cudaStream_t s,
                  const TileOps<T>& tiles, CudaMath math) {
  static_assert(std::is_same_v<T, float>, "fused attention (cuda): T = float (fp32 storage)");
  SINKLAB_CHECK(out.o && out.saved.row_max && out.saved.row_sum && out.saved.pre_norm,
                "fused_forward_cuda: o, saved.row_max, saved.row_sum and saved.pre_norm are required");
  Scratch sc(s);
  const Prepared<V, T> pr(p, in, sc, s);
  (math == CudaMath::bf16_tensor_cores ? tiles.forward_tc : tiles.forward)(
      pr.c, FwdOut<T>{out.saved.pre_norm, out.saved.row_max, out.saved.row_sum}, s);
  launch(&fwd_rows_kernel<V, T>, dim3(row_blocks(p.row_count())), dim3(kRowThreads), 0, s, pr.ra, out.saved.pre_norm,
         static_cast<const T*>(out.saved.row_max), static_cast<const T*>(out.saved.row_sum), out.o);
}

template <class V, class T>
void backward_impl(const AttentionParams<T>& p, const Inputs<T>& in, const Saved<T>& sv, const T* dout, Grads<T>& g,
                   cudaStream_t s, const TileOps<T>& tiles, CudaMath math) {
  static_assert(std::is_same_v<T, float>, "fused attention (cuda): T = float (fp32 storage)");
  using K = typename V::kernel;
  using G = typename V::gate;
  using Vec = typename V::vector_stage;
  using Row = typename V::row_stage;
  SINKLAB_CHECK(dout && g.dq && g.dk && g.dv, "fused_backward_cuda: dout, dq, dk and dv are required");
  SINKLAB_CHECK(sv.row_max && sv.row_sum && sv.pre_norm, "fused_backward_cuda: the saved statistics are required");
  Scratch sc(s);
  const Prepared<V, T> pr(p, in, sc, s);
  const DevCtx<T>& c = pr.c;
  if constexpr (G::has_in) SINKLAB_CHECK(g.dg_in, "fused_backward_cuda: dg_in is required (variant has an input gate)");
  if constexpr (G::has_out)
    SINKLAB_CHECK(g.dg_out, "fused_backward_cuda: dg_out is required (variant has an output gate)");
  if constexpr (Vec::has_weight) SINKLAB_CHECK(g.dnorm_weight, "fused_backward_cuda: dnorm_weight is required");
  if constexpr (Vec::has_bias) SINKLAB_CHECK(g.dnorm_bias, "fused_backward_cuda: dnorm_bias is required");
  if constexpr (Row::uses_sink_logit) SINKLAB_CHECK(g.dsink_logit, "fused_backward_cuda: dsink_logit is required");
  if (c.slot) SINKLAB_CHECK(g.dk_slot, "fused_backward_cuda: dk_slot is required (window has a sink slot)");
  if (c.slot_value) SINKLAB_CHECK(g.dv_slot, "fused_backward_cuda: dv_slot is required (window has a KV sink slot)");
  if constexpr (kernel::has_learnable_phi<K>())
    SINKLAB_CHECK(g.dmlp_w1 && g.dmlp_w2, "fused_backward_cuda: dmlp_w1 and dmlp_w2 are required");

  const int B = p.B, H = p.H, S = p.S, D = p.D;
  const std::size_t nrows = p.row_count(), nk = std::size_t(B) * p.Hkv * S;
  // (A)
  RowBwdOut<T> ro{};
  ro.dA = sc.get<float>(nrows * D);
  ro.dL = sc.get<float>(nrows);
  ro.dg_out = g.dg_out;
  if constexpr (Vec::has_weight) ro.dw = sc.get<float>(nrows * D, true);
  if constexpr (Vec::has_bias) ro.db = sc.get<float>(nrows * D, true);
  if constexpr (Row::uses_sink_logit) ro.dsink = sc.get<float>(nrows);
  T* dQp = g.dq;
  T* dKp = g.dk;
  if constexpr (K::is_feature) {
    dQp = sc.get<T>(nrows * D);
    dKp = sc.get<T>(nk * D);
  }
  ro.dQ = dQp;
  if (c.slot) ro.slot_ds = sc.get<float>(nrows);
  if (c.slot_value) ro.slot_w = sc.get<float>(nrows);
  launch(&bwd_rows_kernel<V, T>, dim3(row_blocks(nrows)), dim3(kRowThreads), 0, s, pr.ra,
         static_cast<const T*>(sv.pre_norm), static_cast<const T*>(sv.row_max), static_cast<const T*>(sv.row_sum),
         dout, ro);
  // (B)
  BwdTileArgs<T> ta{sv.row_max, ro.dA, ro.dL, dKp, g.dv, g.dg_in, dQp};
  (math == CudaMath::bf16_tensor_cores ? tiles.backward_tc : tiles.backward)(c, ta, s);
  // (C) feature maps; the slot key's feature-space gradient first (φ needs it as dy)
  T* dks = nullptr;  // (H, D) Σ_b Σ_i scale·ds·q (feature space for feature kernels)
  if (c.slot) {
    dks = K::is_feature ? sc.get<T>(std::size_t(H) * D) : g.dk_slot;
    grouped_colsum(sc, static_cast<const float*>(ro.slot_ds), c.Q, B, H, S, D, dks, s);
  }
  if constexpr (K::is_feature) {
    using Phi = typename K::phi_type;
    if constexpr (Phi::learnable) {
      const std::size_t ns = c.slot ? std::size_t(H) : 0, ntot = nrows + nk + ns;
      float* Xc = sc.get<float>(ntot * D);
      float* Yc = sc.get<float>(ntot * D);
      float* Rc = sc.get<float>(ntot * D);
      float* Hc = sc.get<float>(ntot * D);
      auto rows = [&](const T* x, const T* dy, T* dx, std::size_t n, std::size_t at) {
        launch(&mlp_backward_rows_kernel<T>, dim3(row_blocks(n)), dim3(kRowThreads), 0, s, x, dy, dx, n, D, in.mlp_w1,
               in.mlp_w2, Xc + at * D, Yc + at * D, Rc + at * D, Hc + at * D);
      };
      rows(in.q, dQp, g.dq, nrows, 0);
      rows(in.k, dKp, g.dk, nk, nrows);
      if (c.slot) rows(in.k_slot, dks, g.dk_slot, ns, nrows + nk);
      constexpr int chunk = 1024;
      const int nchunks = int((ntot + chunk - 1) / chunk);
      float* part = sc.get<float>(std::size_t(nchunks) * D * D);
      const dim3 grid = folded_grid((long long)((D * D + kRowThreads - 1) / kRowThreads) * nchunks, "the MLP dW sums");
      launch(&outer_partial_kernel<T>, grid, dim3(kRowThreads), 0, s, static_cast<const float*>(Yc),
             static_cast<const float*>(Rc), ntot, D, chunk, part);  // dW2 = Σ dyᵀ·relu(h)
      launch(&sum_chunks_kernel<T>, dim3(row_blocks(std::size_t(D) * D)), dim3(kRowThreads), 0, s,
             static_cast<const float*>(part), 1, nchunks, D * D, g.dmlp_w2);
      float* part1 = sc.get<float>(std::size_t(nchunks) * D * D);
      launch(&outer_partial_kernel<T>, grid, dim3(kRowThreads), 0, s, static_cast<const float*>(Hc),
             static_cast<const float*>(Xc), ntot, D, chunk, part1);  // dW1 = Σ dhᵀ·x
      launch(&sum_chunks_kernel<T>, dim3(row_blocks(std::size_t(D) * D)), dim3(kRowThreads), 0, s,
             static_cast<const float*>(part1), 1, nchunks, D * D, g.dmlp_w1);
    } else {
      launch(&phi_backward_kernel<Phi, T>, dim3(row_blocks(nrows)), dim3(kRowThreads), 0, s, in.q,
             static_cast<const T*>(dQp), g.dq, nrows, D);
      launch(&phi_backward_kernel<Phi, T>, dim3(row_blocks(nk)), dim3(kRowThreads), 0, s, in.k,
             static_cast<const T*>(dKp), g.dk, nk, D);
      if (c.slot)
        launch(&phi_backward_kernel<Phi, T>, dim3(row_blocks(std::size_t(H))), dim3(kRowThreads), 0, s, in.k_slot,
               static_cast<const T*>(dks), g.dk_slot, std::size_t(H), D);
    }
  }
  // (D) shared parameters, fixed order
  if constexpr (Vec::has_weight)
    grouped_colsum(sc, static_cast<const float*>(nullptr), static_cast<const float*>(ro.dw), 1, 1, int(nrows), D,
                   g.dnorm_weight, s);
  if constexpr (Vec::has_bias)
    grouped_colsum(sc, static_cast<const float*>(nullptr), static_cast<const float*>(ro.db), 1, 1, int(nrows), D,
                   g.dnorm_bias, s);
  if constexpr (Row::uses_sink_logit)
    grouped_colsum(sc, static_cast<const float*>(ro.dsink), static_cast<const float*>(nullptr), B, H, S, 1,
                   g.dsink_logit, s);
  if (c.slot_value)
    grouped_colsum(sc, static_cast<const float*>(ro.slot_w), static_cast<const float*>(ro.dA), B, H, S, D, g.dv_slot,
                   s);
}

}  // namespace cuda_detail

// Header-only entry points: instantiate the whole kernel family for V in the including TU. Model code should
// prefer the sharded instances behind attention_cuda_ops() (any_attention_cuda.hpp).
template <class V, class T>
void fused_forward_cuda(const AttentionParams<T>& p, const Inputs<T>& in, Outputs<T>& out,
                        cudaStream_t stream = nullptr, CudaMath math = CudaMath::fp32) {
  static_assert(is_variant_v<V>, "fused_forward_cuda<V, T>: V must be a sinklab::attention::Variant<K, N, G, W>");
  cuda_detail::forward_impl<V, T>(p, in, out, stream,
                                  cuda_detail::tile_ops_of<cuda_detail::tile_traits_of<V>, T>(), math);
}

template <class V, class T>
void fused_backward_cuda(const AttentionParams<T>& p, const Inputs<T>& in, const Saved<T>& saved, const T* dout,
                         Grads<T>& g, cudaStream_t stream = nullptr, CudaMath math = CudaMath::fp32) {
  static_assert(is_variant_v<V>, "fused_backward_cuda<V, T>: V must be a sinklab::attention::Variant<K, N, G, W>");
  cuda_detail::backward_impl<V, T>(p, in, saved, dout, g, stream,
                                   cuda_detail::tile_ops_of<cuda_detail::tile_traits_of<V>, T>(), math);
}

}  // namespace sinklab::attention
