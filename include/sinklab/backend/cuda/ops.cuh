#pragma once
// CUDA kernels for the autograd ops. The math of each lives in sinklab/backend/functors/*.hpp (shared with the CPU
// tests); these are the launchers. T ∈ {float, bf16}: storage type; all arithmetic is fp32. Row ops work on the
// last axis of a contiguous tensor (non-contiguous inputs are made contiguous first). Every launcher queues on
// `stream` and does not synchronise. Implementations: src/cuda/{elementwise,reduce,norm,rope_swiglu,loss_embed,adamw}.cu
#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "sinklab/backend/cuda/tensor_cuda.cuh"
#include "sinklab/backend/functors/rope.hpp"

namespace sinklab::backend::cuda {

// --- elementwise (src/cuda/elementwise.cu) ----------------------------------------------------------
enum class UnaryOp { Neg, Exp, Log, Sqrt, Square, Relu, Sigmoid, Tanh, Silu, GeluTanh };
enum class BinaryOp { Add, Sub, Mul, Div, Max };

template <class T> Tensor<T, Cuda> unary(UnaryOp op, const Tensor<T, Cuda>& x, cudaStream_t s = nullptr);
// dx = dy·f'(x); y = f(x) is passed so Exp/Sigmoid/Tanh/Sqrt reuse it.
template <class T> Tensor<T, Cuda> unary_backward(UnaryOp op, const Tensor<T, Cuda>& x, const Tensor<T, Cuda>& y,
                                                  const Tensor<T, Cuda>& dy, cudaStream_t s = nullptr);
// NumPy broadcasting; any strides.
template <class T> Tensor<T, Cuda> binary(BinaryOp op, const Tensor<T, Cuda>& a, const Tensor<T, Cuda>& b,
                                          cudaStream_t s = nullptr);
// Gradients reduced back to a's and b's shapes (sum over broadcast axes, deterministic).
template <class T> void binary_backward(BinaryOp op, const Tensor<T, Cuda>& a, const Tensor<T, Cuda>& b,
                                        const Tensor<T, Cuda>& dz, Tensor<T, Cuda>& da, Tensor<T, Cuda>& db,
                                        cudaStream_t s = nullptr);
// Sums `g` down to `shape` (which broadcasts to g's shape). Deterministic.
template <class T> Tensor<T, Cuda> sum_to(const Tensor<T, Cuda>& g, const Shape& shape, cudaStream_t s = nullptr);

// --- reductions (src/cuda/reduce.cu; CUB) -----------------------------------------------------------
// Sum of all elements, as an fp32 scalar tensor (shape {}).
template <class T> Tensor<float, Cuda> sum_all(const Tensor<T, Cuda>& x, cudaStream_t s = nullptr);
enum class ReduceOp { Sum, Mean, Max };
// Reduction along `axis` (keepdim=false drops it). fp32 accumulation; output in T.
template <class T> Tensor<T, Cuda> reduce(ReduceOp op, const Tensor<T, Cuda>& x, int axis, bool keepdim = false,
                                          cudaStream_t s = nullptr);

// --- softmax / norms (src/cuda/norm.cu) -------------------------------------------------------------
template <class T> Tensor<T, Cuda> softmax(const Tensor<T, Cuda>& x, cudaStream_t s = nullptr);
template <class T> Tensor<T, Cuda> softmax_backward(const Tensor<T, Cuda>& y, const Tensor<T, Cuda>& dy, cudaStream_t s = nullptr);
template <class T> Tensor<T, Cuda> log_softmax(const Tensor<T, Cuda>& x, cudaStream_t s = nullptr);
template <class T> Tensor<T, Cuda> log_softmax_backward(const Tensor<T, Cuda>& y, const Tensor<T, Cuda>& dy, cudaStream_t s = nullptr);

template <class T> struct RmsNormOut {
  Tensor<T, Cuda> y;
  Tensor<float, Cuda> rstd;  // (rows,) saved for the backward
};
template <class T> RmsNormOut<T> rms_norm(const Tensor<T, Cuda>& x, const Tensor<T, Cuda>& w, float eps, cudaStream_t s = nullptr);
// dx and dw (dw summed over rows in a fixed order: deterministic).
template <class T> void rms_norm_backward(const Tensor<T, Cuda>& x, const Tensor<T, Cuda>& w, const Tensor<float, Cuda>& rstd,
                                          const Tensor<T, Cuda>& dy, Tensor<T, Cuda>& dx, Tensor<T, Cuda>& dw,
                                          cudaStream_t s = nullptr);

template <class T> struct LayerNormOut {
  Tensor<T, Cuda> y;
  Tensor<float, Cuda> mean, rstd;  // (rows,)
};
template <class T> LayerNormOut<T> layer_norm(const Tensor<T, Cuda>& x, const Tensor<T, Cuda>& w, const Tensor<T, Cuda>& b,
                                             float eps, cudaStream_t s = nullptr);
template <class T> void layer_norm_backward(const Tensor<T, Cuda>& x, const Tensor<T, Cuda>& w, const Tensor<float, Cuda>& mean,
                                            const Tensor<float, Cuda>& rstd, const Tensor<T, Cuda>& dy, Tensor<T, Cuda>& dx,
                                            Tensor<T, Cuda>& dw, Tensor<T, Cuda>& db, cudaStream_t s = nullptr);

// --- RoPE / SwiGLU (src/cuda/rope_swiglu.cu) --------------------------------------------------------
// x (…, T, D), position of row t is pos_offset + t. backward = rotation by −angle (pass the upstream grad as x).
template <class T> Tensor<T, Cuda> rope(const Tensor<T, Cuda>& x, functors::RopeLayout layout, float base,
                                        int64_t pos_offset = 0, bool backward = false, cudaStream_t s = nullptr);
template <class T> Tensor<T, Cuda> swiglu(const Tensor<T, Cuda>& g, const Tensor<T, Cuda>& u, cudaStream_t s = nullptr);
template <class T> void swiglu_backward(const Tensor<T, Cuda>& g, const Tensor<T, Cuda>& u, const Tensor<T, Cuda>& dh,
                                        Tensor<T, Cuda>& dg, Tensor<T, Cuda>& du, cudaStream_t s = nullptr);

// --- cross-entropy / embedding (src/cuda/loss_embed.cu) ---------------------------------------------
// logits (N, V), targets (N,) int32; target < 0 is ignored. loss = mean over non-ignored rows of lse − x_target.
// Probabilities are never stored: one online-logsumexp pass per row; lse (N,) is saved for the backward.
struct CrossEntropyOut {
  Tensor<float, Cuda> loss;   // scalar
  Tensor<float, Cuda> lse;    // (N,)
  Tensor<float, Cuda> count;  // scalar: number of non-ignored rows
};
template <class T> CrossEntropyOut cross_entropy(const Tensor<T, Cuda>& logits, const Tensor<int32_t, Cuda>& targets,
                                                 cudaStream_t s = nullptr);
// dlogits = dloss/count · (softmax − onehot); dloss is a device scalar, so no host round trip.
template <class T> Tensor<T, Cuda> cross_entropy_backward(const Tensor<T, Cuda>& logits, const Tensor<int32_t, Cuda>& targets,
                                                          const CrossEntropyOut& fwd, const Tensor<float, Cuda>& dloss,
                                                          cudaStream_t s = nullptr);
// weight (V, D), ids (N,) → (N, D).
template <class T> Tensor<T, Cuda> embedding(const Tensor<T, Cuda>& weight, const Tensor<int32_t, Cuda>& ids, cudaStream_t s = nullptr);
// dW (V, D): ids are radix-sorted (stable) with their positions, then each distinct id sums its rows in position
// order — deterministic, no atomics.
template <class T> Tensor<T, Cuda> embedding_backward(const Tensor<T, Cuda>& dy, const Tensor<int32_t, Cuda>& ids, int64_t vocab,
                                                     cudaStream_t s = nullptr);

// --- AdamW (src/cuda/adamw.cu) -----------------------------------------------------------------------
// One parameter: fp32 master weight and moments, gradient in T, optional bf16 copy written after the update.
template <class T> struct AdamWParam {
  float* w;
  float* m;
  float* v;
  const T* g;
  bf16* w_bf16;  // nullptr: no copy
  int64_t n;
  float weight_decay;
};
struct AdamWHyper {
  float lr, beta1 = 0.9f, beta2 = 0.95f, eps = 1e-8f;
  int64_t step;  // 1-based, after increment
};
// Every parameter in one launch (a block maps to (tensor, chunk) through a prefix table).
template <class T> void adamw_multi_tensor(const std::vector<AdamWParam<T>>& params, const AdamWHyper& h, cudaStream_t s = nullptr);

}  // namespace sinklab::backend::cuda
