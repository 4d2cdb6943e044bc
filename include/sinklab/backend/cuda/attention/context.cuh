#pragma once
// Part of the fused CUDA attention; attention/fused_cuda.cuh has the plan and the entry points.
// The CUDA surface the host code uses (the emulator provides the same names), scratch memory, the per-call context, the
// tile kernels' grid, the tile traits (Note [two template axes] in attention/fused_cuda.cuh) and the tile geometry.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#if defined(SINKLAB_CUDA_EMULATE)
#include <cuda_runtime.h>  // the emulator's shim (src/cuda/emu/ first on the include path)
#ifndef SINKLAB_CUDA_EMU_ACTIVE
#error "SINKLAB_CUDA_EMULATE: <cuda_runtime.h> is not the emulator's; put src/cuda/emu/ first on the include path (link sinklab::cuda_emulated)"
#endif
#else
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include "sinklab/backend/cuda/allocator.cuh"
#include "sinklab/backend/cuda/check.cuh"
#endif
#include "sinklab/backend/cuda/launch.cuh"

#include "sinklab/attention/any_attention_cuda.hpp"  // CudaMath
#include "sinklab/attention/named_tensors.hpp"
#include "sinklab/attention/params.hpp"
#include "sinklab/attention/query_scale.hpp"
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

namespace sinklab::attention::cuda_detail {

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
#endif
// Every kernel starts through the backend's launcher (backend/cuda/launch.cuh): limits checked, launch checked;
// in the emulator, the grid run on the CPU.
template <class... P, class... A>
void launch(void (*kern)(P...), dim3 grid, dim3 block, std::size_t smem, cudaStream_t s, A&&... args) {
  backend::cuda::launch_kernel(kern, grid, block, smem, s, static_cast<A&&>(args)...);
}

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

// A query-scaled kernel's tiles are its base kernel's: the scale is applied to q before them (Note [query scale]).
template <kernel::ScalesQueries K>
struct canonical_kernel<K> {
  using type = typename canonical_kernel<typename K::base>::type;
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

}  // namespace sinklab::attention::cuda_detail
