#pragma once
// Umbrella: layers and the LLaMA-style model.
#include "sinklab/nn/config.hpp"
#include "sinklab/nn/linear.hpp"
#include "sinklab/nn/llama.hpp"
#include "sinklab/nn/mlp.hpp"
#include "sinklab/nn/norm.hpp"
#include "sinklab/nn/positional.hpp"
#include "sinklab/nn/self_attention.hpp"
#include "sinklab/nn/state.hpp"
