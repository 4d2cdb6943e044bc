#pragma once
// Umbrella: core types and Tensor<T, Device> (CPU). No CUDA headers are reached from here.
#include "sinklab/core/bf16.hpp"
#include "sinklab/core/device.hpp"
#include "sinklab/core/error.hpp"
#include "sinklab/core/parallel.hpp"
#include "sinklab/core/rng.hpp"
#include "sinklab/core/shape.hpp"
#include "sinklab/tensor/tensor.hpp"
