#pragma once
// Embedding gather (forward) and scatter-add (backward) for a (V, D) table.
// Determinism note: the backward groups token positions by id with a stable counting sort, then each id's row is
// summed by one thread in token order, so the gradient is bit-identical for any thread count.
#include <vector>

#include "sinklab/core/parallel.hpp"
#include "sinklab/tensor/tensor.hpp"

namespace sinklab::backend::cpu {

inline void check_embedding_ids(const Tensor<int32_t>& ids, int64_t vocab) {
  const int32_t* p = ids.data();
  for (int64_t i = 0, n = ids.numel(); i < n; ++i)
    SINKLAB_CHECK(p[i] >= 0 && p[i] < vocab, "embedding: id ", p[i], " at position ", i,
                  " out of range for V = ", vocab);
}

// out (N, D) = W[ids]; ids contiguous and already checked.
template <class T>
Tensor<T> embedding_gather(const Tensor<T>& wc, const Tensor<int32_t>& ids, Shape out_shape) {
  const int64_t d = wc.size(1), n = ids.numel();
  Tensor<T> out(std::move(out_shape));
  const T* w = wc.data();
  const int32_t* id = ids.data();
  T* o = out.data();
#pragma omp parallel for if (n * d > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) std::copy(w + id[i] * d, w + (id[i] + 1) * d, o + i * d);
  return out;
}

// dW (V, D) with dW[v] = Σ_{i: ids_i = v} g_i, summed in token order.
template <class T>
Tensor<T> embedding_scatter(const Tensor<T>& gc, const Tensor<int32_t>& ids, int64_t vocab, int64_t d) {
  const int64_t n = ids.numel();
  const int32_t* id = ids.data();
  std::vector<int64_t> start(vocab + 1, 0), order(n);
  for (int64_t i = 0; i < n; ++i) ++start[id[i] + 1];
  for (int64_t v = 0; v < vocab; ++v) start[v + 1] += start[v];
  std::vector<int64_t> fill(start.begin(), start.end() - 1);
  for (int64_t i = 0; i < n; ++i) order[fill[id[i]]++] = i;  // stable: token order within each id
  Tensor<T> dw({vocab, d});
  const T* g = gc.data();
  T* o = dw.data();
#pragma omp parallel for schedule(dynamic, 64) if (n * d > kParallelGrain)
  for (int64_t v = 0; v < vocab; ++v) {
    T* row = o + v * d;
    for (int64_t k = start[v]; k < start[v + 1]; ++k) {
      const T* gr = g + order[k] * d;
      for (int64_t j = 0; j < d; ++j) row[j] += gr[j];
    }
  }
  return dw;
}

}  // namespace sinklab::backend::cpu
