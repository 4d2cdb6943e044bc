#pragma once
// Umbrella for tape autograd: Var, the tape, gradcheck and every op, on the CPU; add
// sinklab/backend/cuda/tensor_ops.cuh for Var<float, Cuda>. Compiles with plain g++.
#include "sinklab/autograd/gradcheck.hpp"
#include "sinklab/autograd/ops/arithmetic.hpp"
#include "sinklab/autograd/ops/cross_entropy.hpp"
#include "sinklab/autograd/ops/embedding.hpp"
#include "sinklab/autograd/ops/matmul.hpp"
#include "sinklab/autograd/ops/norm.hpp"
#include "sinklab/autograd/ops/reduce.hpp"
#include "sinklab/autograd/ops/rope.hpp"
#include "sinklab/autograd/ops/shape.hpp"
#include "sinklab/autograd/ops/softmax.hpp"
#include "sinklab/autograd/ops/unary.hpp"
#include "sinklab/autograd/tape.hpp"
#include "sinklab/autograd/var.hpp"
