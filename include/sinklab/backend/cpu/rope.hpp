#pragma once
// Rotary position embedding on CPU (Su et al. 2021, "RoFormer", eq. 34); the pair layouts and the math are those of
// backend/functors/rope.hpp, shared with the CUDA kernel. The cos/sin table is built once per (S, D, base, offset)
// in double and rounded to T, so a model loader (llama2.c: Interleaved) can reuse it.
#include <cmath>

#include "sinklab/backend/functors/rope.hpp"
#include "sinklab/core/parallel.hpp"
#include "sinklab/tensor/tensor.hpp"

namespace sinklab::backend::cpu {

using functors::RopeLayout;

template <class T>
struct RopeTable {
  Tensor<T> cos, sin;  // (S, D/2): angle (offset + s)·θ_k, θ_k = base^(−2k/D)
};

template <class T>
RopeTable<T> rope_table(int64_t seq, int64_t dim, double base, int64_t position_offset = 0) {
  SINKLAB_CHECK(dim % 2 == 0, "rope: head dimension ", dim, " must be even");
  const int64_t half = dim / 2;
  RopeTable<T> t{Tensor<T>({seq, half}), Tensor<T>({seq, half})};
  for (int64_t s = 0; s < seq; ++s)
    for (int64_t k = 0; k < half; ++k) {
      const double angle = static_cast<double>(position_offset + s) *
                           std::pow(base, -2.0 * static_cast<double>(k) / static_cast<double>(dim));
      t.cos.data()[s * half + k] = static_cast<T>(std::cos(angle));
      t.sin.data()[s * half + k] = static_cast<T>(std::sin(angle));
    }
  return t;
}

// x (…, S, D): each pair (a, b) ↦ (a cos − b sin, a sin + b cos); `inverse` rotates by −angle (the backward).
template <class T>
Tensor<T> rope_apply(const Tensor<T>& x_in, const RopeTable<T>& tab, RopeLayout layout, bool inverse) {
  SINKLAB_CHECK(x_in.dim() >= 2, "rope: input must be (…, S, D), got ", to_string(x_in.shape()));
  const int64_t seq = x_in.size(-2), dim = x_in.size(-1), half = dim / 2;
  SINKLAB_CHECK(dim % 2 == 0, "rope: head dimension ", dim, " must be even; input ", to_string(x_in.shape()));
  SINKLAB_CHECK(tab.cos.shape() == Shape({seq, half}), "rope: table ", to_string(tab.cos.shape()), " for input ",
                to_string(x_in.shape()));
  const Tensor<T> xc = x_in.contiguous();
  Tensor<T> out(xc.shape());
  const int64_t rows = seq ? xc.numel() / dim : 0;  // (…·S) head vectors
  const T *x = xc.data(), *cs = tab.cos.data(), *sn = tab.sin.data();
  T* y = out.data();
  const T sign = inverse ? T(-1) : T(1);
#pragma omp parallel for if (xc.numel() > kParallelGrain)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t s = r % seq;
    const T *xr = x + r * dim, *c = cs + s * half, *sv = sn + s * half;
    T* yr = y + r * dim;
    for (int64_t k = 0; k < half; ++k) {
      const int64_t i = layout == RopeLayout::RotateHalf ? k : 2 * k,
                    j = layout == RopeLayout::RotateHalf ? k + half : 2 * k + 1;
      const T a = xr[i], b = xr[j], sk = sign * sv[k];
      yr[i] = a * c[k] - b * sk;
      yr[j] = a * sk + b * c[k];
    }
  }
  return out;
}

}  // namespace sinklab::backend::cpu
