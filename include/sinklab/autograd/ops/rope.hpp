#pragma once
// Rotary position embedding (Su et al. 2021, "RoFormer", eq. 34) on x (…, S, D), typically (B, H, S, D).
// RopeLayout is the enum shared with the CUDA kernel: RotateHalf pairs (k, k + D/2) (HF Llama), Interleaved pairs
// (2k, 2k + 1) (Meta / llama2.c). rope_table() is the cos/sin builder, reusable by model loaders.
#include <source_location>

#include "sinklab/autograd/var.hpp"
#include "sinklab/backend/cpu/rope.hpp"

namespace sinklab::autograd {

using RopeLayout = backend::functors::RopeLayout;
using backend::cpu::rope_table;
using backend::cpu::RopeTable;

template <class T, class D>
Var<T, D> rope(const Var<T, D>& x, std::type_identity_t<T> base = T(10000), RopeLayout layout = RopeLayout::RotateHalf,
               int64_t position_offset = 0, std::source_location loc = std::source_location::current()) {
  SINKLAB_CHECK(x.dim() >= 2, "rope: input must be (…, S, D), got ", to_string(x.shape()));
  SINKLAB_CHECK(x.size(-1) % 2 == 0, "rope: head dimension ", x.size(-1), " must be even; input ",
                to_string(x.shape()));
  auto plan = TensorOps<D>::template rope_plan<T>(x.shape(), static_cast<double>(base), layout, position_offset);
  return make_result<T>(
      "rope", TensorOps<D>::rope(x.value(), plan, false), {x},
      [x, plan](const Tensor<T, D>& g) { accumulate(x, TensorOps<D>::rope(g, plan, true)); }, loc);
}

}  // namespace sinklab::autograd
