#pragma once
// TensorOps<Device>: the tensor arithmetic an autograd op asks of a device, so that each op is written once over
// Var<T, Device> and runs on whichever backend holds its tensors (Note [one op body, two backends]).
//
//   TensorOps<Cpu>   autograd/tensor_ops_cpu.hpp: backend::cpu (Eigen, OpenMP).
//   TensorOps<Cuda>  backend/cuda/tensor_ops.cuh: backend::cuda, built by nvcc or by the emulator (src/cuda/emu/);
//                    include it (or sinklab/cuda.cuh) before using Var<float, Cuda>.
//
// Note [one op body, two backends]: an op calls TensorOps<D>::f(...), a dependent name, so a CPU-only program
// never needs the CUDA headers, and a CUDA program gets the same forward and backward structure — the same
// tape, the same accumulation — as the CPU one. Where a backend needs its own form of an op's math (the CPU's
// pointwise ops are lambdas in T, so they also run in double for the gradient checks; the CUDA kernels take a
// fp32 functor chosen by kind), the op passes both and each backend reads its own.
#include <cstdint>

namespace sinklab::autograd {

template <class Device>
struct TensorOps;  // one specialization per backend

// The broadcasting binary ops.
enum class Arith { Add, Sub, Mul, Div };

// Pointwise ops by kind, for backends that select a kernel by kind (CUDA); a and b are the op's scalar parameters
// (elu: alpha; clamp: lo, hi; pow: p).
enum class PointwiseKind { Exp, Log, Sqrt, Abs, Tanh, Sigmoid, Silu, Gelu, Relu, Elu, Clamp };
struct PointwiseSpec {
  PointwiseKind kind;
  float a = 0.0f, b = 0.0f;
};

// One parameter's AdamW update on a device backend (optim/adamw.hpp): fp32 weight, moments and gradient.
struct AdamWSlot {
  float* w;
  float* m;
  float* v;
  const float* g;
  int64_t n;
  float weight_decay;
};
struct AdamWHyperparams {
  float lr, beta1, beta2, eps;
  int64_t step;  // 1-based
};

}  // namespace sinklab::autograd
