#pragma once
// Token embedding lookup: weight (V, D), ids of any shape → ids.shape + (D).
#include <source_location>

#include "sinklab/autograd/var.hpp"
#include "sinklab/backend/cpu/embedding.hpp"

namespace sinklab::autograd {

// y[…] = W[ids[…]];  dW[v] = Σ_{ids = v} g (deterministic scatter-add, see backend/cpu/embedding.hpp)
template <class T>
Var<T> embedding(const Var<T>& weight, const Tensor<int32_t>& ids,
                 std::source_location loc = std::source_location::current()) {
  SINKLAB_CHECK(weight.dim() == 2, "embedding: weight must be (V, D), got ", to_string(weight.shape()));
  const int64_t vocab = weight.size(0), d = weight.size(1);
  const Tensor<int32_t> idc = ids.contiguous();
  backend::cpu::check_embedding_ids(idc, vocab);
  Shape out_shape = ids.shape();
  out_shape.push_back(d);
  return make_result<T>(
      "embedding", backend::cpu::embedding_gather(weight.value().contiguous(), idc, out_shape), {weight},
      [weight, idc, vocab, d](const Tensor<T>& g) {
        accumulate(weight, backend::cpu::embedding_scatter(g.contiguous(), idc, vocab, d));
      },
      loc);
}

}  // namespace sinklab::autograd
