#pragma once
// Positional schemes. RoPE (Su et al. 2021) rotates q and k inside attention; ALiBi (Press et al. 2022) and T5
// relative buckets (Raffel et al. 2020) are score biases that the attention Window carries; sinusoidal
// (Vaswani et al. 2017) and learnable absolute embeddings are added to the token embeddings; NoPE uses none.
#include <cmath>
#include <string>

#include "sinklab/nn/module.hpp"

namespace sinklab::nn {

enum class PosKind { RoPE, NoPE, Sinusoidal, Learned, ALiBi, RelativeBucket };

// (S, D) table: PE[p, 2i] = sin(p / 10000^(2i/D)), PE[p, 2i+1] = cos(...).
template <class T>
Tensor<T> sinusoidal_table(int64_t seq_len, int64_t dim) {
  Tensor<T> pe({seq_len, dim});
  for (int64_t p = 0; p < seq_len; ++p)
    for (int64_t i = 0; i < dim; i += 2) {
      const double angle = double(p) / std::pow(10000.0, double(i) / double(dim));
      pe[{p, i}] = static_cast<T>(std::sin(angle));
      if (i + 1 < dim) pe[{p, i + 1}] = static_cast<T>(std::cos(angle));
    }
  return pe;
}

}  // namespace sinklab::nn
