#pragma once
// The CUDA counterpart of AnyAttention: forward/backward function pointers of the fused CUDA op
// (fused_cuda.cuh) for every registry row, instantiated once in the sharded TUs of src/cuda/attention/ (part of
// sinklab::cuda; link it to use this header). Plain C++: includes no CUDA header (the stream is CUstream_st*, which
// is what cudaStream_t names), so model code compiled by the host compiler can call it.
//
//     auto attn = AnyAttentionCuda::create("softmax_sink", {.mask = MaskKind::sliding, .window = 128});
//     attn.forward(params, inputs, outputs, stream);   // every pointer a device pointer; p.window from the handle
//
// Which Inputs / Grads a variant needs is the same as on the CPU: AnyAttention<float>::create(name).traits().
#include <cstddef>
#include <string_view>

#include "sinklab/attention/params.hpp"
#include "sinklab/attention/variants.hpp"

struct CUstream_st;

namespace sinklab::attention {

using cuda_stream_t = CUstream_st*;  // = cudaStream_t

// How the tile GEMMs are computed; storage is fp32 either way.
//   fp32:               fp32 SIMT FMAs; matches the CPU op to float rounding (any head dim ≤ 256).
//   bf16_tensor_cores:  Q·Kᵀ, P·V (and da'·Vᵀ, dS·K, Pᵀ·da', dSᵀ·Q) on bf16 copies of the operands with fp32
//                       accumulation (mma.sync m16n8k16); scores, κ, the shift, masses, statistics and the row
//                       epilogue stay fp32. Head dims 64 and 128; other head dims, and the dK/dV pass of input-gate
//                       variants, run the fp32 tiles.
enum class CudaMath { fp32, bf16_tensor_cores };

template <class T>
struct AttentionCudaOpsT {
  void (*forward)(const AttentionParams<T>&, const Inputs<T>&, Outputs<T>&, cuda_stream_t, CudaMath);
  void (*backward)(const AttentionParams<T>&, const Inputs<T>&, const Saved<T>&, const T*, Grads<T>&,
                   cuda_stream_t, CudaMath);
};

// fp32 storage (the only dtype instantiated: float, sm_90 by default, runtime head dim ≤ 256).
struct AttentionCudaOps {
  AttentionCudaOpsT<float> f32;
};

// Ops of registry row `index` (defined in sinklab::cuda, src/cuda/attention/registry.cu).
const AttentionCudaOps& attention_cuda_ops(std::size_t index);

// Handle created once from (name, window); cheap to copy.
class AnyAttentionCuda {
 public:
  // Throws sinklab::Error with the nearest names for an unknown name.
  static AnyAttentionCuda create(std::string_view name, const WindowSpec& window = {},
                                 CudaMath math = CudaMath::fp32) {
    return AnyAttentionCuda(variant_index(name), window, math);
  }

  const VariantInfo& info() const { return variant_table[index_]; }
  const char* name() const { return info().name; }
  const WindowSpec& window() const { return window_; }
  CudaMath math() const { return math_; }
  std::size_t index() const { return index_; }

  // In every call p.window is replaced by the handle's window. Queued on `stream`; no synchronisation.
  // Run the backward with the same math as the forward whose statistics it uses.
  void forward(AttentionParams<float> p, const Inputs<float>& in, Outputs<float>& out,
               cuda_stream_t stream = nullptr) const {
    p.window = window_;
    ops_->f32.forward(p, in, out, stream, math_);
  }
  void backward(AttentionParams<float> p, const Inputs<float>& in, const Saved<float>& saved, const float* dout,
                Grads<float>& g, cuda_stream_t stream = nullptr) const {
    p.window = window_;
    ops_->f32.backward(p, in, saved, dout, g, stream, math_);
  }

 private:
  AnyAttentionCuda(std::size_t index, const WindowSpec& w, CudaMath math)
      : index_(index), window_(w), math_(math), ops_(&attention_cuda_ops(index)) {}
  std::size_t index_;
  WindowSpec window_;
  CudaMath math_;
  const AttentionCudaOps* ops_;
};

}  // namespace sinklab::attention
