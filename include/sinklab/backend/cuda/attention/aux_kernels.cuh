#pragma once
// Part of the fused CUDA attention; attention/fused_cuda.cuh has the plan and the entry points.
// Feature maps φ on the device (C), the score-bias table, and the fixed-order two-level reductions for the shared
// parameters (D).
#include "sinklab/backend/cuda/attention/rows.cuh"

namespace sinklab::attention::cuda_detail {

// ---- feature maps, score-bias table, reductions ------------------------------------------------------------------
template <class Phi, class T>
__global__ void __launch_bounds__(kRowThreads) phi_forward_kernel(const T* x, T* y, std::size_t n, int D, const T* w1,
                                                                  const T* w2) {
  const std::size_t r = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r >= n) return;
  Phi::forward(x + r * D, y + r * D, D, kernel::PhiParams<T>{w1, w2});
}
template <class Phi, class T>
__global__ void __launch_bounds__(kRowThreads) phi_backward_kernel(const T* x, const T* dy, T* dx, std::size_t n,
                                                                   int D) {
  const std::size_t r = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r >= n) return;
  Phi::backward(x + r * D, dy + r * D, dx + r * D, D, kernel::PhiParams<T>{}, static_cast<T*>(nullptr),
                static_cast<T*>(nullptr));
}

// SharedMLP backward, per row (CPU: phi_backward_rows): h = W1·x, r = relu(h), dh = (W2ᵀ·dy)⊙[h > 0],
// dx = W1ᵀ·dh; r, dh, x and dy go to the concatenated (N, D) arrays for the weight gradients.
template <class T>
__global__ void __launch_bounds__(kRowThreads) mlp_backward_rows_kernel(const T* x, const T* dy, T* dx, std::size_t n,
                                                                        int D, const T* w1, const T* w2, float* Xc,
                                                                        float* Yc, float* Rc, float* Hc) {
  const std::size_t r = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r >= n) return;
  const T* xr = x + r * D;
  const T* dyr = dy + r * D;
  float* hr = Hc + r * D;  // h, then dh
  for (int o = 0; o < D; ++o) {
    float acc = 0.f;
    for (int i = 0; i < D; ++i) acc += float(w1[o * D + i]) * float(xr[i]);
    hr[o] = acc;
    Rc[r * D + o] = acc > 0.f ? acc : 0.f;
    Xc[r * D + o] = float(xr[o]);
    Yc[r * D + o] = float(dyr[o]);
  }
  for (int i = 0; i < D; ++i) {
    float acc = 0.f;
    for (int o = 0; o < D; ++o) acc += float(w2[o * D + i]) * float(dyr[o]);
    hr[i] = hr[i] > 0.f ? acc : 0.f;
  }
  for (int i = 0; i < D; ++i) {
    float acc = 0.f;
    for (int o = 0; o < D; ++o) acc += float(w1[o * D + i]) * hr[o];
    dx[r * D + i] = T(acc);
  }
}

// part[chunk][o·D + i] = Σ_{rows of the chunk} A[row][o]·Bm[row][i]  (dW = Aᵀ·B in fixed-size chunks).
// Grid: (D·D blocks) × chunks folded into x, element block fastest (Note [tile grid]: chunks may pass 65535).
template <class T>
__global__ void __launch_bounds__(kRowThreads) outer_partial_kernel(const float* A, const float* Bm, std::size_t n,
                                                                    int D, int chunk, float* part) {
  const unsigned eblocks = (unsigned(D * D) + blockDim.x - 1) / blockDim.x;
  const int e = int(blockIdx.x % eblocks * blockDim.x + threadIdx.x);
  const std::size_t ch = blockIdx.x / eblocks;
  if (e >= D * D) return;
  const int o = e / D, i = e % D;
  const std::size_t r0 = ch * chunk, r1 = r0 + chunk < n ? r0 + chunk : n;
  float acc = 0.f;
  for (std::size_t r = r0; r < r1; ++r) acc = fmaf(A[r * D + o], Bm[r * D + i], acc);
  part[ch * D * D + e] = acc;
}

// Grouped, weighted column sums in a fixed order (two levels: chunks of rows, then the chunks in order):
//   out[g][w] = Σ_{b < nb} Σ_{i < len} a[row]·X[row·W + w],  row = (b·G + g)·len + i;  a or X null → 1.
// Grid: (W blocks) × nchunks × G folded into x, column block fastest (Note [tile grid]: B·H·S / 1024 chunks pass
// 65535 at 64M rows).
template <class XT>
__global__ void __launch_bounds__(kRowThreads) colsum_partial_kernel(const float* a, const XT* X, int nb, int G,
                                                                     int len, int W, int chunk, int nchunks,
                                                                     float* part) {
  const unsigned wblocks = (unsigned(W) + blockDim.x - 1) / blockDim.x, rest = blockIdx.x / wblocks;
  const int w = int(blockIdx.x % wblocks * blockDim.x + threadIdx.x);
  const int ch = int(rest % unsigned(nchunks)), g = int(rest / unsigned(nchunks));
  if (w >= W) return;
  const long total = long(nb) * len, r0 = long(ch) * chunk, r1 = r0 + chunk < total ? r0 + chunk : total;
  float acc = 0.f;
  for (long rr = r0; rr < r1; ++rr) {
    const std::size_t row = (std::size_t(rr / len) * G + g) * len + std::size_t(rr % len);
    const float x = X ? float(X[row * W + w]) : 1.f;
    acc = a ? fmaf(a[row], x, acc) : acc + x;
  }
  part[(std::size_t(g) * nchunks + ch) * W + w] = acc;
}
template <class OT>
__global__ void __launch_bounds__(kRowThreads) sum_chunks_kernel(const float* part, int G, int nchunks, int W,
                                                                 OT* out) {
  const int e = blockIdx.x * blockDim.x + threadIdx.x;
  if (e >= G * W) return;
  const int g = e / W, w = e % W;
  float acc = 0.f;
  for (int ch = 0; ch < nchunks; ++ch) acc += part[(std::size_t(g) * nchunks + ch) * W + w];
  out[e] = OT(acc);
}

// bias[h][idx] = slope_h·(idx − (S − 1)) (ALiBi) or table_h[bucket[idx]] / bucket[idx] (relative buckets), in
// double and rounded once, as make_bias_table does.
template <class T>
__global__ void __launch_bounds__(kRowThreads) bias_table_kernel(int alibi, const double* std_slopes,
                                                                 const T* user_slopes, const int* bucket,
                                                                 const T* table, int H, int S, float* out) {
  const int W = 2 * S - 1;
  const long e = long(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= long(H) * W) return;
  const int h = int(e / W), idx = int(e % W), off = idx - (S - 1);
  double v;
  if (alibi)
    v = (user_slopes ? double(user_slopes[h]) : std_slopes[h]) * off;
  else
    v = table ? double(table[h * relative_num_buckets + bucket[idx]]) : double(bucket[idx]);
  out[e] = float(v);
}

inline unsigned row_blocks(std::size_t n) { return unsigned((n + kRowThreads - 1) / kRowThreads); }

template <class XT, class OT>
void grouped_colsum(Scratch& sc, const float* a, const XT* X, int nb, int G, int len, int W, OT* out,
                    cudaStream_t s) {
  constexpr int chunk = 1024;
  const long total = long(nb) * len;
  const int nchunks = int((total + chunk - 1) / chunk);
  float* part = sc.get<float>(std::size_t(G) * nchunks * W);
  const dim3 grid = folded_grid((long long)((W + kRowThreads - 1) / kRowThreads) * nchunks * G, "a column sum");
  launch(&colsum_partial_kernel<XT>, grid, dim3(kRowThreads), 0, s, a, X, nb, G, len, W, chunk, nchunks, part);
  launch(&sum_chunks_kernel<OT>, dim3(row_blocks(std::size_t(G) * W)), dim3(kRowThreads), 0, s,
         static_cast<const float*>(part), G, nchunks, W, out);
}

// ---- Note [query scale] on the device -----------------------------------------------------------------------------
// q' = e^{θ_h} q over (B, H, S, D); per_head = S·D.
template <class T>
__global__ void __launch_bounds__(kRowThreads) scale_queries_kernel(const T* q, const T* theta, T* qs, std::size_t n,
                                                                    int H, std::size_t per_head) {
  const std::size_t e = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= n) return;
  qs[e] = T(QueryScale::factor(float(theta[(e / per_head) % H])) * float(q[e]));
}
// One block per head: dθ_h = Σ_{b,i,d} q'·dq' (each thread a fixed strided range, then a fixed tree: the same bits
// on every run) and dq = e^{θ_h} dq' in place. Dynamic shared memory: blockDim.x floats.
template <class T>
__global__ void __launch_bounds__(kRowThreads) query_scale_backward_kernel(const T* qs, const T* theta, T* dq,
                                                                           T* dtheta, int B, int H,
                                                                           std::size_t per_head) {
  float* part = dyn_smem();
  const int h = blockIdx.x;
  const float f = QueryScale::factor(float(theta[h]));
  float acc = 0.f;
  for (int b = 0; b < B; ++b) {
    const std::size_t o = (std::size_t(b) * H + h) * per_head;
    for (std::size_t e = threadIdx.x; e < per_head; e += blockDim.x) {
      acc += float(qs[o + e]) * float(dq[o + e]);
      dq[o + e] = T(f * float(dq[o + e]));
    }
  }
  part[threadIdx.x] = acc;
  __syncthreads();
  for (unsigned w = blockDim.x / 2; w > 0; w /= 2) {
    if (threadIdx.x < w) part[threadIdx.x] += part[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) dtheta[h] = T(part[0]);
}

}  // namespace sinklab::attention::cuda_detail
