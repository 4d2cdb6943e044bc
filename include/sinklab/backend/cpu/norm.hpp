#pragma once
// RMSNorm (Zhang & Sennrich 2019, eq. 4) and LayerNorm (Ba et al. 2016) over the last axis, fused: the forward
// reads each row once and keeps 1/σ (and μ); the backward reads x and dy once per row and produces dx and the
// per-block partial weight/bias gradients in the same pass.
// Determinism note: rows are grouped in fixed blocks of kNormRowBlock (independent of the thread count); each block
// sums its rows in order and the block partials are summed in block order, so dw/db are bit-identical for any
// number of threads.
#include <cmath>
#include <vector>

#include "sinklab/core/parallel.hpp"
#include "sinklab/tensor/tensor.hpp"

namespace sinklab::backend::cpu {

inline constexpr int64_t kNormRowBlock = 32;

template <class T>
struct NormForward {
  Tensor<T> y;
  std::vector<T> mean;  // (rows) LayerNorm only
  std::vector<T> rstd;  // (rows) 1/√(var + eps)
};

template <class T>
struct NormBackward {
  Tensor<T> dx;
  Tensor<T> dw, db;  // (D); undefined when not asked for
};

namespace detail {
inline int64_t norm_rows(const Shape& s) { return s.empty() || s.back() == 0 ? 0 : sinklab::numel(s) / s.back(); }

// Runs row_fn(row, dw_partial, db_partial) over fixed row blocks, then reduces the partials in block order.
template <class T, class RowFn>
void norm_backward_blocks(int64_t rows, int64_t d, bool need_dw, bool need_db, NormBackward<T>& out, RowFn row_fn) {
  const int64_t nblk = (rows + kNormRowBlock - 1) / kNormRowBlock;
  std::vector<T> pw(need_dw ? nblk * d : 0, T(0)), pb(need_db ? nblk * d : 0, T(0));
#pragma omp parallel for schedule(static) if (rows * d > kParallelGrain)
  for (int64_t b = 0; b < nblk; ++b)
    for (int64_t r = b * kNormRowBlock; r < std::min(rows, (b + 1) * kNormRowBlock); ++r)
      row_fn(r, need_dw ? pw.data() + b * d : nullptr, need_db ? pb.data() + b * d : nullptr);
  auto reduce = [&](const std::vector<T>& part, Tensor<T>& dst) {
    dst = Tensor<T>({d});
    T* o = dst.data();
#pragma omp parallel for if (nblk * d > kParallelGrain)
    for (int64_t j = 0; j < d; ++j) {
      T s = 0;
      for (int64_t b = 0; b < nblk; ++b) s += part[b * d + j];
      o[j] = s;
    }
  };
  if (need_dw) reduce(pw, out.dw);
  if (need_db) reduce(pb, out.db);
}
}  // namespace detail

// y = x · r · w,  r = 1/√(mean(x²) + eps); `w` may be null (no gain).
template <class T>
NormForward<T> rms_norm_forward(const Tensor<T>& xc, const T* w, T eps) {
  const int64_t d = xc.shape().empty() ? 1 : xc.shape().back(), rows = detail::norm_rows(xc.shape());
  NormForward<T> f{Tensor<T>(xc.shape()), {}, std::vector<T>(rows)};
  const T* x = xc.data();
  T* y = f.y.data();
#pragma omp parallel for if (rows * d > kParallelGrain)
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * d;
    T ss = 0;
    for (int64_t j = 0; j < d; ++j) ss += xr[j] * xr[j];
    const T rs = T(1) / std::sqrt(ss / T(d) + eps);
    f.rstd[r] = rs;
    T* yr = y + r * d;
    for (int64_t j = 0; j < d; ++j) yr[j] = xr[j] * rs * (w ? w[j] : T(1));
  }
  return f;
}

// dx = r (w⊙dy − x r² mean(w⊙dy⊙x)),  dw = Σ_rows dy⊙x·r
template <class T>
NormBackward<T> rms_norm_backward(const Tensor<T>& xc, const T* w, const std::vector<T>& rstd, const Tensor<T>& dyc,
                                  bool need_dw) {
  const int64_t d = xc.shape().empty() ? 1 : xc.shape().back(), rows = detail::norm_rows(xc.shape());
  NormBackward<T> b{Tensor<T>(xc.shape()), {}, {}};
  const T *x = xc.data(), *dy = dyc.data();
  T* dx = b.dx.data();
  detail::norm_backward_blocks<T>(rows, d, need_dw, false, b, [&](int64_t r, T* pw, T*) {
    const T *xr = x + r * d, *gr = dy + r * d;
    const T rs = rstd[r];
    T dot = 0;
    for (int64_t j = 0; j < d; ++j) dot += (w ? w[j] : T(1)) * gr[j] * xr[j];
    const T c = rs * rs * dot / T(d);
    T* o = dx + r * d;
    for (int64_t j = 0; j < d; ++j) o[j] = rs * ((w ? w[j] : T(1)) * gr[j] - xr[j] * c);
    if (pw)
      for (int64_t j = 0; j < d; ++j) pw[j] += gr[j] * xr[j] * rs;
  });
  return b;
}

// y = (x − μ) r ⊙ w + b,  r = 1/√(var + eps) with the biased variance; w, b may be null.
template <class T>
NormForward<T> layer_norm_forward(const Tensor<T>& xc, const T* w, const T* bias, T eps) {
  const int64_t d = xc.shape().empty() ? 1 : xc.shape().back(), rows = detail::norm_rows(xc.shape());
  NormForward<T> f{Tensor<T>(xc.shape()), std::vector<T>(rows), std::vector<T>(rows)};
  const T* x = xc.data();
  T* y = f.y.data();
#pragma omp parallel for if (rows * d > kParallelGrain)
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * d;
    T mu = 0;
    for (int64_t j = 0; j < d; ++j) mu += xr[j];
    mu /= T(d);
    T var = 0;  // two passes over a row in cache: no cancellation, unlike E[x²] − μ²
    for (int64_t j = 0; j < d; ++j) var += (xr[j] - mu) * (xr[j] - mu);
    const T rs = T(1) / std::sqrt(var / T(d) + eps);
    f.mean[r] = mu;
    f.rstd[r] = rs;
    T* yr = y + r * d;
    for (int64_t j = 0; j < d; ++j) yr[j] = (xr[j] - mu) * rs * (w ? w[j] : T(1)) + (bias ? bias[j] : T(0));
  }
  return f;
}

// x̂ = (x − μ) r, g = w⊙dy:  dx = r (g − mean(g) − x̂ mean(g⊙x̂)),  dw = Σ_rows dy⊙x̂,  db = Σ_rows dy
template <class T>
NormBackward<T> layer_norm_backward(const Tensor<T>& xc, const T* w, const std::vector<T>& mean,
                                    const std::vector<T>& rstd, const Tensor<T>& dyc, bool need_dw, bool need_db) {
  const int64_t d = xc.shape().empty() ? 1 : xc.shape().back(), rows = detail::norm_rows(xc.shape());
  NormBackward<T> b{Tensor<T>(xc.shape()), {}, {}};
  const T *x = xc.data(), *dy = dyc.data();
  T* dx = b.dx.data();
  detail::norm_backward_blocks<T>(rows, d, need_dw, need_db, b, [&](int64_t r, T* pw, T* pb) {
    const T *xr = x + r * d, *gr = dy + r * d;
    const T mu = mean[r], rs = rstd[r];
    T sg = 0, sgx = 0;
    for (int64_t j = 0; j < d; ++j) {
      const T g = (w ? w[j] : T(1)) * gr[j];
      sg += g;
      sgx += g * (xr[j] - mu) * rs;
    }
    sg /= T(d);
    sgx /= T(d);
    T* o = dx + r * d;
    for (int64_t j = 0; j < d; ++j) {
      const T xh = (xr[j] - mu) * rs;
      o[j] = rs * ((w ? w[j] : T(1)) * gr[j] - sg - xh * sgx);
      if (pw) pw[j] += gr[j] * xh;
      if (pb) pb[j] += gr[j];
    }
  });
  return b;
}

}  // namespace sinklab::backend::cpu
