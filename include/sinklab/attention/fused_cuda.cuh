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
//               o = gates ∘ Vec::forward — the CPU's row epilogue itself (row_epilogue.hpp).
// backward  (A) bwd_rows_kernel<V>: one thread per row: the CPU's row epilogue → da'_i (scratch), dℓ'_i, dg_out,
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
// src/cuda/emu/cuda_emu.hpp (tests of the tiling and indexing without a GPU).
//
// The code, by concern, under backend/cuda/attention/: context.cuh (CUDA surface, per-call context, grids, tile
// traits), smem_tiles.cuh, tiles_fp32.cuh, tiles_mma.cuh, tile_launch.cuh, rows.cuh, aux_kernels.cuh (feature maps,
// bias table, reductions) and orchestration.cuh; this header adds the entry points.
#include "sinklab/backend/cuda/attention/orchestration.cuh"

namespace sinklab::attention {
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
