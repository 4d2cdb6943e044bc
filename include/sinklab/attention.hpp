#pragma once
// sinklab attention module: policies (kernel, normalizer, gate, window), Variant, the fused CPU op (forward,
// backward, recurrent form), the naive reference, probe weights, the named registry and the AnyAttention handle.
// CPU-only: includes no CUDA headers. AnyAttention's instances come from the `sinklab_attention_instances` library.
#include "sinklab/attention/any_attention.hpp"
#include "sinklab/attention/epilogue.hpp"
#include "sinklab/attention/fused_cpu.hpp"
#include "sinklab/attention/gate.hpp"
#include "sinklab/attention/kernel.hpp"
#include "sinklab/attention/normalizer.hpp"
#include "sinklab/attention/params.hpp"
#include "sinklab/attention/recurrent_cpu.hpp"
#include "sinklab/attention/reference.hpp"
#include "sinklab/attention/variant.hpp"
#include "sinklab/attention/variants.hpp"
#include "sinklab/attention/weights.hpp"
#include "sinklab/attention/window.hpp"
