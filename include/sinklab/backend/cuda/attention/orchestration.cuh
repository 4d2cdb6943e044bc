#pragma once
// Part of the fused CUDA attention; attention/fused_cuda.cuh has the plan and the entry points.
// Host orchestration: the per-call preparation, then forward_impl and backward_impl queue the kernels of
// attention/fused_cuda.cuh's plan on one stream.
#include "sinklab/backend/cuda/attention/aux_kernels.cuh"

namespace sinklab::attention::cuda_detail {

// ---- host orchestration -----------------------------------------------------------------------------------------
// The call's context: checks (as Context in epilogue.hpp), scale, window, bias table and feature-mapped q/k/slot.
template <class V, class T>
struct Prepared {
  using K = typename V::kernel;
  DevCtx<T> c{};
  RowArgs<T> ra{};
  static_assert(!scales_queries_v<V>,
                "a query-scaled kernel runs through forward_impl/backward_impl (Note [query scale])");

  Prepared(const AttentionParams<T>& p, const Inputs<T>& in, Scratch& sc, cudaStream_t s) {
    check_shape(p);
    check_inputs(V::params, p, in, "attention (cuda)");
    if constexpr (K::is_feature)
      SINKLAB_CHECK(p.window.bias == BiasKind::none, "attention (cuda): score biases act on scores; feature kernel '",
                    K::name, "' has none to add them to");
    const int B = p.B, H = p.H, S = p.S, D = p.D;
    c.B = B, c.H = H, c.Hkv = p.Hkv, c.S = S, c.D = D, c.group = p.H / p.Hkv;
    // the CPU's formula in T (Context): 1/√D in T unless the variant or the caller says otherwise
    c.scale = float(p.scale != T(0) ? p.scale
                                    : (K::scale_mode == ScaleMode::unit ? T(1) : T(1) / std::sqrt(static_cast<T>(D))));
    c.win = Window::from(p.window, S);
    c.slot = p.window.slot != SlotKind::none;
    c.slot_value = p.window.slot == SlotKind::kv;
    const NamedInputs<T> ni(in);  // the built-in policies' tensors
    c.Q = in.q, c.K = in.k, c.V = in.v;
    c.Ks = c.slot ? ni.k_slot : nullptr;
    c.Vs = c.slot_value ? ni.v_slot : nullptr;
    c.g_in = ni.g_in;
    c.bias = nullptr;
    c.bias_width = 2 * S - 1;
    if (p.window.bias != BiasKind::none) {
      const bool alibi = p.window.bias == BiasKind::alibi;
      double* slopes = nullptr;
      int* bucket = nullptr;
      if (alibi && !p.alibi_slopes) {
        const std::vector<double> std_slopes = alibi_slopes(H);
        slopes = sc.get<double>(std_slopes.size());
        dev_upload(slopes, std_slopes.data(), std_slopes.size() * sizeof(double), s);
      }
      if (!alibi) {
        std::vector<int> bk(std::size_t(2 * S - 1));
        for (int idx = 0; idx < 2 * S - 1; ++idx) bk[idx] = relative_bucket(-(idx - (S - 1)));
        bucket = sc.get<int>(bk.size());
        dev_upload(bucket, bk.data(), bk.size() * sizeof(int), s);
      }
      float* table = sc.get<float>(std::size_t(H) * c.bias_width);
      launch(&bias_table_kernel<T>, dim3(row_blocks(std::size_t(H) * c.bias_width)), dim3(kRowThreads), 0, s,
             int(alibi), static_cast<const double*>(slopes), p.alibi_slopes, static_cast<const int*>(bucket),
             p.bucket_table, H, S, table);
      c.bias = table;
    }
    if constexpr (K::is_feature) {
      using Phi = typename K::phi_type;
      const std::size_t nq = p.row_count(), nk = std::size_t(B) * p.Hkv * S;
      T* qf = sc.get<T>(nq * D);
      T* kf = sc.get<T>(nk * D);
      launch(&phi_forward_kernel<Phi, T>, dim3(row_blocks(nq)), dim3(kRowThreads), 0, s, in.q, qf, nq, D, ni.mlp_w1,
             ni.mlp_w2);
      launch(&phi_forward_kernel<Phi, T>, dim3(row_blocks(nk)), dim3(kRowThreads), 0, s, in.k, kf, nk, D, ni.mlp_w1,
             ni.mlp_w2);
      c.Q = qf, c.K = kf;
      if (c.slot) {
        T* sf = sc.get<T>(std::size_t(H) * D);
        launch(&phi_forward_kernel<Phi, T>, dim3(row_blocks(std::size_t(H))), dim3(kRowThreads), 0, s, ni.k_slot, sf,
               std::size_t(H), D, ni.mlp_w1, ni.mlp_w2);
        c.Ks = sf;
      }
    }
    ra.B = B, ra.H = H, ra.S = S, ra.D = D, ra.win = c.win, ra.slot = c.slot, ra.slot_value = c.slot_value;
    ra.scale = c.scale, ra.Q = c.Q, ra.Ks = c.Ks, ra.v_slot = c.Vs, ra.sink = ni.sink, ra.g_out = ni.g_out;
    ra.norm_w = ni.norm_w, ra.norm_b = ni.norm_b;
  }
};

template <class V, class T>
void forward_unscaled(const AttentionParams<T>& p, const Inputs<T>& in, Outputs<T>& out, cudaStream_t s,
                      const TileOps<T>& tiles, CudaMath math) {
  static_assert(std::is_same_v<T, float>, "fused attention (cuda): T = float (fp32 storage)");
  static_assert(std::is_same_v<typename V::window, Window>,
                "fused attention (cuda): the tiles take the Window policy only (DevCtx and RowArgs hold a Window); a "
                "variant with another window policy runs on the CPU op");
  SINKLAB_CHECK(out.o && out.saved.row_max && out.saved.row_sum && out.saved.pre_norm,
                "fused_forward_cuda: o, saved.row_max, saved.row_sum and saved.pre_norm are required");
  Scratch sc(s);
  const Prepared<V, T> pr(p, in, sc, s);
  (math == CudaMath::bf16_tensor_cores ? tiles.forward_tc : tiles.forward)(
      pr.c, FwdOut<T>{out.saved.pre_norm, out.saved.row_max, out.saved.row_sum}, s);
  launch(&fwd_rows_kernel<V, T>, dim3(row_blocks(p.row_count())), dim3(kRowThreads), 0, s, pr.ra, out.saved.pre_norm,
         static_cast<const T*>(out.saved.row_max), static_cast<const T*>(out.saved.row_sum), out.o);
}

template <class V, class T>
void backward_unscaled(const AttentionParams<T>& p, const Inputs<T>& in, const Saved<T>& sv, const T* dout,
                       Grads<T>& g, cudaStream_t s, const TileOps<T>& tiles, CudaMath math) {
  static_assert(std::is_same_v<T, float>, "fused attention (cuda): T = float (fp32 storage)");
  static_assert(std::is_same_v<typename V::window, Window>,
                "fused attention (cuda): the tiles take the Window policy only (DevCtx and RowArgs hold a Window); a "
                "variant with another window policy runs on the CPU op");
  using K = typename V::kernel;
  using Vec = typename V::vector_stage;
  using Row = typename V::row_stage;
  SINKLAB_CHECK(dout, "fused_backward_cuda: dout is required");
  SINKLAB_CHECK(sv.row_max && sv.row_sum && sv.pre_norm, "fused_backward_cuda: the saved statistics are required");
  Scratch sc(s);
  const Prepared<V, T> pr(p, in, sc, s);
  const DevCtx<T>& c = pr.c;
  check_grads(V::params, p, g, "fused_backward_cuda");
  const NamedInputs<T> ni(in);  // the built-in policies' tensors and gradients
  const NamedGrads<T> dn(g);

  const int B = p.B, H = p.H, S = p.S, D = p.D;
  const std::size_t nrows = p.row_count(), nk = std::size_t(B) * p.Hkv * S;
  // (A)
  RowBwdOut<T> ro{};
  ro.dA = sc.get<float>(nrows * D);
  ro.dL = sc.get<float>(nrows);
  ro.dg_out = dn.g_out;
  if constexpr (Vec::has_weight) ro.dw = sc.get<float>(nrows * D, true);
  if constexpr (Vec::has_bias) ro.db = sc.get<float>(nrows * D, true);
  if constexpr (Row::uses_sink_logit) ro.dsink = sc.get<float>(nrows);
  T* dQp = g.dq;
  T* dKp = g.dk;
  if constexpr (K::is_feature) {
    dQp = sc.get<T>(nrows * D);
    dKp = sc.get<T>(nk * D);
  }
  ro.dQ = dQp;
  if (c.slot) ro.slot_ds = sc.get<float>(nrows);
  if (c.slot_value) ro.slot_w = sc.get<float>(nrows);
  launch(&bwd_rows_kernel<V, T>, dim3(row_blocks(nrows)), dim3(kRowThreads), 0, s, pr.ra,
         static_cast<const T*>(sv.pre_norm), static_cast<const T*>(sv.row_max), static_cast<const T*>(sv.row_sum),
         dout, ro);
  // (B)
  BwdTileArgs<T> ta{sv.row_max, ro.dA, ro.dL, dKp, g.dv, dn.g_in, dQp};
  (math == CudaMath::bf16_tensor_cores ? tiles.backward_tc : tiles.backward)(c, ta, s);
  // (C) feature maps; the slot key's feature-space gradient first (φ needs it as dy)
  T* dks = nullptr;  // (H, D) Σ_b Σ_i scale·ds·q (feature space for feature kernels)
  if (c.slot) {
    dks = K::is_feature ? sc.get<T>(std::size_t(H) * D) : dn.k_slot;
    grouped_colsum(sc, static_cast<const float*>(ro.slot_ds), c.Q, B, H, S, D, dks, s);
  }
  if constexpr (K::is_feature) {
    using Phi = typename K::phi_type;
    if constexpr (Phi::learnable) {
      const std::size_t ns = c.slot ? std::size_t(H) : 0, ntot = nrows + nk + ns;
      float* Xc = sc.get<float>(ntot * D);
      float* Yc = sc.get<float>(ntot * D);
      float* Rc = sc.get<float>(ntot * D);
      float* Hc = sc.get<float>(ntot * D);
      auto rows = [&](const T* x, const T* dy, T* dx, std::size_t n, std::size_t at) {
        launch(&mlp_backward_rows_kernel<T>, dim3(row_blocks(n)), dim3(kRowThreads), 0, s, x, dy, dx, n, D, ni.mlp_w1,
               ni.mlp_w2, Xc + at * D, Yc + at * D, Rc + at * D, Hc + at * D);
      };
      rows(in.q, dQp, g.dq, nrows, 0);
      rows(in.k, dKp, g.dk, nk, nrows);
      if (c.slot) rows(ni.k_slot, dks, dn.k_slot, ns, nrows + nk);
      constexpr int chunk = 1024;
      const int nchunks = int((ntot + chunk - 1) / chunk);
      float* part = sc.get<float>(std::size_t(nchunks) * D * D);
      const dim3 grid = folded_grid((long long)((D * D + kRowThreads - 1) / kRowThreads) * nchunks, "the MLP dW sums");
      launch(&outer_partial_kernel<T>, grid, dim3(kRowThreads), 0, s, static_cast<const float*>(Yc),
             static_cast<const float*>(Rc), ntot, D, chunk, part);  // dW2 = Σ dyᵀ·relu(h)
      launch(&sum_chunks_kernel<T>, dim3(row_blocks(std::size_t(D) * D)), dim3(kRowThreads), 0, s,
             static_cast<const float*>(part), 1, nchunks, D * D, dn.mlp_w2);
      float* part1 = sc.get<float>(std::size_t(nchunks) * D * D);
      launch(&outer_partial_kernel<T>, grid, dim3(kRowThreads), 0, s, static_cast<const float*>(Hc),
             static_cast<const float*>(Xc), ntot, D, chunk, part1);  // dW1 = Σ dhᵀ·x
      launch(&sum_chunks_kernel<T>, dim3(row_blocks(std::size_t(D) * D)), dim3(kRowThreads), 0, s,
             static_cast<const float*>(part1), 1, nchunks, D * D, dn.mlp_w1);
    } else {
      launch(&phi_backward_kernel<Phi, T>, dim3(row_blocks(nrows)), dim3(kRowThreads), 0, s, in.q,
             static_cast<const T*>(dQp), g.dq, nrows, D);
      launch(&phi_backward_kernel<Phi, T>, dim3(row_blocks(nk)), dim3(kRowThreads), 0, s, in.k,
             static_cast<const T*>(dKp), g.dk, nk, D);
      if (c.slot)
        launch(&phi_backward_kernel<Phi, T>, dim3(row_blocks(std::size_t(H))), dim3(kRowThreads), 0, s, ni.k_slot,
               static_cast<const T*>(dks), dn.k_slot, std::size_t(H), D);
    }
  }
  // (D) shared parameters, fixed order
  if constexpr (Vec::has_weight)
    grouped_colsum(sc, static_cast<const float*>(nullptr), static_cast<const float*>(ro.dw), 1, 1, int(nrows), D,
                   dn.norm_w, s);
  if constexpr (Vec::has_bias)
    grouped_colsum(sc, static_cast<const float*>(nullptr), static_cast<const float*>(ro.db), 1, 1, int(nrows), D,
                   dn.norm_b, s);
  if constexpr (Row::uses_sink_logit)
    grouped_colsum(sc, static_cast<const float*>(ro.dsink), static_cast<const float*>(nullptr), B, H, S, 1,
                   dn.sink, s);
  if (c.slot_value)
    grouped_colsum(sc, static_cast<const float*>(ro.slot_w), static_cast<const float*>(ro.dA), B, H, S, D, dn.v_slot,
                   s);
}

// The entry points: a kernel's query scale first (Note [query scale]), then the base variant's op on q'.
template <class V, class T>
void forward_impl(const AttentionParams<T>& p, const Inputs<T>& in, Outputs<T>& out, cudaStream_t s,
                  const TileOps<T>& tiles, CudaMath math) {
  if constexpr (scales_queries_v<V>) {
    check_inputs(V::params, p, in, "attention (cuda)");
    check_shape(p);
    const ParamSpec& spec = V::kernel::query_log_scale;
    Scratch sc(s);
    T* qs = sc.get<T>(p.q_size());
    launch(&scale_queries_kernel<T>, dim3(row_blocks(p.q_size())), dim3(kRowThreads), 0, s, in.q, in[spec], qs,
           p.q_size(), p.H, std::size_t(p.S) * p.D);
    Inputs<T> scaled = in;
    scaled.q = qs;
    forward_unscaled<unscaled_variant_t<V>>(p, scaled, out, s, tiles, math);
  } else {
    forward_unscaled<V>(p, in, out, s, tiles, math);
  }
}
template <class V, class T>
void backward_impl(const AttentionParams<T>& p, const Inputs<T>& in, const Saved<T>& sv, const T* dout, Grads<T>& g,
                   cudaStream_t s, const TileOps<T>& tiles, CudaMath math) {
  if constexpr (scales_queries_v<V>) {
    check_inputs(V::params, p, in, "attention (cuda)");
    check_grads(V::params, p, g, "fused_backward_cuda");
    check_shape(p);
    const ParamSpec& spec = V::kernel::query_log_scale;
    Scratch sc(s);
    T* qs = sc.get<T>(p.q_size());
    const std::size_t per_head = std::size_t(p.S) * p.D;
    launch(&scale_queries_kernel<T>, dim3(row_blocks(p.q_size())), dim3(kRowThreads), 0, s, in.q, in[spec], qs,
           p.q_size(), p.H, per_head);
    Inputs<T> scaled = in;
    scaled.q = qs;
    backward_unscaled<unscaled_variant_t<V>>(p, scaled, sv, dout, g, s, tiles, math);
    launch(&query_scale_backward_kernel<T>, dim3(p.H), dim3(kRowThreads), kRowThreads * sizeof(float), s,
           static_cast<const T*>(qs), in[spec], g.dq, g[spec], p.B, p.H, per_head);
  } else {
    backward_unscaled<V>(p, in, sv, dout, g, s, tiles, math);
  }
}

}  // namespace sinklab::attention::cuda_detail
