#pragma once
// Token embedding lookup: weight (V, D), ids of any shape → ids.shape + (D).
#include <source_location>

#include "sinklab/autograd/var.hpp"
#include "sinklab/backend/cpu/embedding.hpp"

namespace sinklab::autograd {

// ids live on the host on every device: they come from the data pipeline, and are checked here against the vocabulary.
template <class T, class D>
Var<T, D> embedding(const Var<T, D>& weight, const Tensor<int32_t>& ids,
                    std::source_location loc = std::source_location::current()) {
  SINKLAB_CHECK(weight.dim() == 2, "embedding: weight must be (V, D), got ", to_string(weight.shape()));
  const int64_t vocab = weight.size(0), d = weight.size(1);
  const Tensor<int32_t> idc = ids.contiguous();
  backend::cpu::check_embedding_ids(idc, vocab);
  Shape out_shape = ids.shape();
  out_shape.push_back(d);
  auto dev_ids = TensorOps<D>::ids(idc);
  return make_result<T>(
      "embedding", TensorOps<D>::embedding(weight.value(), dev_ids, out_shape), {weight},
      [weight, dev_ids, vocab, d](const Tensor<T, D>& g) {
        accumulate(weight, TensorOps<D>::embedding_grad(g, dev_ids, vocab, d));
      },
      loc);
}

}  // namespace sinklab::autograd
