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
// Gelu is the exact erf form (the CPU autograd op `gelu`); GeluTanh the tanh approximation.
enum class UnaryOp { Neg, Exp, Log, Sqrt, Square, Relu, Sigmoid, Tanh, Silu, GeluTanh, Gelu, Abs };
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
// scale · g expanded to `shape` under NumPy broadcasting (the adjoint of sum_to; the backward of sum/mean and of a
// broadcast bias add's forward). Contiguous out.
template <class T> Tensor<T, Cuda> broadcast_to(const Tensor<T, Cuda>& g, const Shape& shape, float scale = 1.0f,
                                                cudaStream_t s = nullptr);

// Pointwise ops with scalar parameters (a, b), the CPU autograd ops of the same names:
//   Elu: alpha = a;  Clamp: lo = a, hi = b (gradient passes on the closed interval [lo, hi]);  Pow: x^p, p = a;
//   AddScalar: x + a;  MulScalar: a·x.  Math: functors::{Elu, Clamp, Pow, AddScalar, MulScalar}.
enum class ScalarOp { Elu, Clamp, Pow, AddScalar, MulScalar };
template <class T> Tensor<T, Cuda> unary_scalar(ScalarOp op, const Tensor<T, Cuda>& x, float a, float b = 0.0f,
                                                cudaStream_t s = nullptr);
// dx = dy·f'(x) (none of these needs y).
template <class T> Tensor<T, Cuda> unary_scalar_backward(ScalarOp op, const Tensor<T, Cuda>& x, const Tensor<T, Cuda>& dy,
                                                         float a, float b = 0.0f, cudaStream_t s = nullptr);

// y = value where mask ≠ 0, else x. `mask` (same storage type) broadcasts to x's shape; any strides.
template <class T> Tensor<T, Cuda> masked_fill(const Tensor<T, Cuda>& x, const Tensor<T, Cuda>& mask, float value,
                                               cudaStream_t s = nullptr);
// dx = dy where mask = 0, else 0 (dx has dy's shape, to which mask broadcasts).
template <class T> Tensor<T, Cuda> masked_fill_backward(const Tensor<T, Cuda>& dy, const Tensor<T, Cuda>& mask,
                                                        cudaStream_t s = nullptr);

// --- concat / split / slice backward (src/cuda/elementwise.cu): strided copies, exact in any type -----------
// Joins `xs` (any strides) along `axis`; every other dimension must match. Contiguous out.
template <class T> Tensor<T, Cuda> concat(const std::vector<Tensor<T, Cuda>>& xs, int axis, cudaStream_t s = nullptr);
// Pieces of x of the given lengths along `axis` (they must add up to its length), as contiguous copies.
template <class T> std::vector<Tensor<T, Cuda>> split(const Tensor<T, Cuda>& x, const std::vector<int64_t>& sizes,
                                                      int axis, cudaStream_t s = nullptr);
// Backward of split(x, sizes, axis): the piece gradients joined along `axis` into x_shape; an undefined piece
// gradient (a piece that got none) counts as zeros.
template <class T> Tensor<T, Cuda> split_backward(const std::vector<Tensor<T, Cuda>>& gs, const Shape& x_shape,
                                                  const std::vector<int64_t>& sizes, int axis, cudaStream_t s = nullptr);
// Backward of x.slice(axis, start, start + g.size(axis)): g placed in zeros of x_shape.
template <class T> Tensor<T, Cuda> slice_backward(const Tensor<T, Cuda>& g, const Shape& x_shape, int axis, int64_t start,
                                                  cudaStream_t s = nullptr);
// Backward of concat: g split back into the inputs' lengths along `axis`.
template <class T> std::vector<Tensor<T, Cuda>> concat_backward(const Tensor<T, Cuda>& g, const std::vector<int64_t>& sizes,
                                                                int axis, cudaStream_t s = nullptr) {
  return split(g, sizes, axis, s);
}

// --- reductions and their backwards (src/cuda/reduce.cu; CUB) ------------------------------------------
// Sum of all elements, as an fp32 scalar tensor (shape {}).
template <class T> Tensor<float, Cuda> sum_all(const Tensor<T, Cuda>& x, cudaStream_t s = nullptr);
enum class ReduceOp { Sum, Mean, Max };
// Reduction along `axis` (keepdim=false drops it). fp32 accumulation; output in T.
// Max propagates NaN, as the CPU backend's max_axis.
template <class T> Tensor<T, Cuda> reduce(ReduceOp op, const Tensor<T, Cuda>& x, int axis, bool keepdim = false,
                                          cudaStream_t s = nullptr);
// Mean of all elements as an fp32 scalar (NaN for an empty tensor, 0/0 as on the CPU).
template <class T> Tensor<float, Cuda> mean_all(const Tensor<T, Cuda>& x, cudaStream_t s = nullptr);
// Backward of sum_all / mean_all: the fp32 scalar dy broadcast to x_shape (mean: divided by numel). T is explicit:
// sum_all_backward<bf16>(dy, shape).
template <class T> Tensor<T, Cuda> sum_all_backward(const Tensor<float, Cuda>& dy, const Shape& x_shape, bool mean = false,
                                                    cudaStream_t s = nullptr);
// Backward of reduce(Sum or Mean, x, axis, keepdim): dy expanded over `axis` to x_shape (Mean: times 1/n). Max
// needs the indices: use max_with_index / max_backward.
template <class T> Tensor<T, Cuda> reduce_backward(ReduceOp op, const Tensor<T, Cuda>& dy, const Shape& x_shape, int axis,
                                                   bool keepdim = false, cudaStream_t s = nullptr);
// Max along `axis` with the index of the chosen element: the first NaN if any, else the first maximum (the CPU
// backend's max_with_index, and so the autograd op `max`). Indices have the values' shape.
template <class T> struct MaxWithIndexOut {
  Tensor<T, Cuda> values;
  Tensor<int64_t, Cuda> indices;
};
template <class T> MaxWithIndexOut<T> max_with_index(const Tensor<T, Cuda>& x, int axis, bool keepdim = false,
                                                     cudaStream_t s = nullptr);
template <class T> Tensor<int64_t, Cuda> argmax(const Tensor<T, Cuda>& x, int axis, bool keepdim = false,
                                                cudaStream_t s = nullptr) {
  return max_with_index(x, axis, keepdim, s).indices;
}
// Backward of max: dx = dy at the chosen index along `axis`, 0 elsewhere (x_shape; dy and indices as returned).
template <class T> Tensor<T, Cuda> max_backward(const Tensor<T, Cuda>& dy, const Tensor<int64_t, Cuda>& indices,
                                                const Shape& x_shape, int axis, bool keepdim = false,
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
