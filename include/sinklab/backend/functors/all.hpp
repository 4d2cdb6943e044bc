#pragma once
// Umbrella for the math shared by the CPU tests and the CUDA kernels. Compiles with plain g++ (no CUDA headers).
#include "sinklab/backend/functors/adamw.hpp"
#include "sinklab/backend/functors/broadcast.hpp"
#include "sinklab/backend/functors/concat.hpp"
#include "sinklab/backend/functors/elementwise.hpp"
#include "sinklab/backend/functors/norm.hpp"
#include "sinklab/backend/functors/reduce.hpp"
#include "sinklab/backend/functors/rope.hpp"
#include "sinklab/backend/functors/softmax.hpp"
#include "sinklab/backend/functors/swiglu.hpp"
