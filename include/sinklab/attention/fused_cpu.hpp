#pragma once
// Fused CPU attention, forward and backward, for any Variant: flash-style tiles of 64 queries × 64 keys, no S×S
// buffer in either direction. Per-tile GEMMs (Q·Kᵀ, P·V, dA·Vᵀ, Pᵀ·dA, dSᵀ·Q, dS·K) go through Eigen maps.
//
// forward:  parallel over (batch, head, query block). Per row: running max m (only when V::use_shift), shifted mass
//           ℓ' and accumulator a' (Note [shifted domain]); the slot is key column −1; empty tiles are skipped, full
//           tiles need no mask. Saves m, ℓ', ũ for the backward.
// backward: (A) per row, parallel over (b, h): the row epilogue backward gives da'_i, dℓ'_i, gate/norm/sink grads
//           and the slot's share of dq; (B) parallel over (b, kv head): for each key block, every query head of
//           the group and every visible query block recompute the scores and form
//               ds_ij = dweight(s_ij, m_i)·(da'_i·ṽ_j) + dmass(s_ij, m_i)·dℓ'_i,
//           accumulating dK, dV for the key block in registers and dQ rows that the same task owns, so results do
//           not depend on the thread count; (C) feature-map backward; (D) fixed-order reduction of shared params.
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include "sinklab/attention/epilogue.hpp"

namespace sinklab::attention {
namespace detail {

template <class T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using CMap = Eigen::Map<const RowMat<T>>;
template <class T>
using MMap = Eigen::Map<RowMat<T>>;

inline constexpr int block_q = 64;
inline constexpr int block_k = 64;

inline int blocks(int n, int b) { return (n + b - 1) / b; }

template <class T>
using ArrRow = Eigen::Array<T, 1, Eigen::Dynamic>;
// The whole-row tile hooks a kernel declares (kernel.hpp, TileHooks), checked against what it defines: a kernel
// that declares a hook it lacks (a misspelt name, a wrong signature), or defines one it does not declare, does not
// compile, where it would otherwise fall back to the scalar loop unseen.
template <class K, class T>
concept VecWeight = requires(const Eigen::Map<const ArrRow<T>>& a, T m, const Eigen::Map<ArrRow<T>>& p) {
  K::weight_vec(a, m);
  K::dweight_vec(a, m, p);
};
template <class K, class T>
concept VecMass = requires(const Eigen::Map<const ArrRow<T>>& a, T m) {
  K::mass_vec(a, m);
  K::dmass_vec(a, m);
};
template <class K, class T>
concept FusedRow = requires(const Eigen::Map<const ArrRow<T>>& s, T m, T dl, Eigen::Map<ArrRow<T>>& p,
                            Eigen::Map<ArrRow<T>>& ds) {
  { K::forward_row(s, m, p) } -> std::convertible_to<T>;
  K::backward_row(s, m, s, dl, p, ds);
};
template <class K, class T>
consteval bool tile_hooks_checked() {
  constexpr bool vec = K::tile_hooks != TileHooks::scalar, fused = K::tile_hooks == TileHooks::fused_row;
  static_assert(!vec || VecWeight<K, T>,
                "the kernel declares TileHooks::vectorised or fused_row but has no weight_vec(s, m) and "
                "dweight_vec(s, m, p) callable on Eigen rows");
  static_assert(!vec || !K::separate_mass || VecMass<K, T>,
                "the kernel declares vectorised hooks and a separate mass but has no mass_vec(s, m) and "
                "dmass_vec(s, m)");
  static_assert(!fused || FusedRow<K, T>,
                "the kernel declares TileHooks::fused_row but has no forward_row(s, m, p) -> T and "
                "backward_row(s, m, dp, dl, p, ds)");
  static_assert(vec || !VecWeight<K, T>, "the kernel defines weight_vec/dweight_vec but declares TileHooks::scalar");
  static_assert(fused || !FusedRow<K, T>,
                "the kernel defines forward_row/backward_row but does not declare TileHooks::fused_row");
  return true;
}
// Full tiles evaluate whole rows through the kernel's vectorised hooks (checked above).
template <class K, class T>
inline constexpr bool vec_rows = tile_hooks_checked<K, T>() && K::tile_hooks != TileHooks::scalar;

// Scores of one tile into Sm (R × C) and, for partial tiles, the visibility mask.
template <class V, class T>
void tile_scores(const Context<V, T>& c, int h, int i0, int R, int j0, int C, TileClass cls, const T* Q, const T* K,
                 const T* off, RowMat<T>& Sm, std::vector<unsigned char>& vis) {
  Sm.resize(R, C);
  Sm.noalias() = CMap<T>(Q, R, c.D) * CMap<T>(K, C, c.D).transpose();
  Sm *= c.scale;
  for (int r = 0; r < R; ++r) {
    T* srow = Sm.data() + std::size_t(r) * C;
    const T o = off[r];
    if (c.has_bias) {
      const T* brow = c.bias.data() + std::size_t(h) * c.bias_width + (j0 - (i0 + r) + c.S - 1);
      for (int cc = 0; cc < C; ++cc) srow[cc] += brow[cc] + o;
    } else if (o != T(0)) {
      for (int cc = 0; cc < C; ++cc) srow[cc] += o;
    }
  }
  if (cls == TileClass::partial) {
    vis.resize(std::size_t(R) * C);
    for (int r = 0; r < R; ++r)
      for (int cc = 0; cc < C; ++cc) vis[std::size_t(r) * C + cc] = c.win.visible(i0 + r, j0 + cc);
  }
}

template <class V, class T>
void forward_block(const Context<V, T>& c, int b, int h, int ib, const Outputs<T>& out) {
  using K = typename V::kernel;
  using G = typename V::gate;
  const int D = c.D, S = c.S;
  const int i0 = ib * block_q, R = std::min(block_q, S - i0), hk = h / c.group;
  const T* Q = c.Q + c.row(b, h, i0) * D;
  const T* Kh = c.Kp + (std::size_t(b) * c.Hkv + hk) * S * D;
  const T* Vh = c.in->v + (std::size_t(b) * c.Hkv + hk) * S * D;
  const T* gin = G::has_in ? c.g_in + c.row(b, h, 0) : nullptr;
  constexpr T neg_inf = -std::numeric_limits<T>::infinity();

  RowMat<T> acc = RowMat<T>::Zero(R, D), Sm, P, Vg;
  std::vector<unsigned char> vis;
  T m[block_q], l[block_q], off[block_q];
  int n[block_q];
  for (int r = 0; r < R; ++r) {
    n[r] = c.n_of(i0 + r);
    off[r] = K::row_offset(n[r], S, T(0));
    m[r] = V::use_shift ? neg_inf : T(0);
    l[r] = T(0);
  }
  if (c.slot) {  // key column −1: visible to every row, no positional bias
    const T* ks = c.Ks + std::size_t(h) * D;
    for (int r = 0; r < R; ++r) {
      T s = T(0);
      for (int d = 0; d < D; ++d) s += Q[std::size_t(r) * D + d] * ks[d];
      s = s * c.scale + off[r];
      if constexpr (V::use_shift) m[r] = s;
      const T w = K::weight(s, m[r]);
      l[r] += K::mass(s, m[r]);
      if (c.slot_value)
        acc.row(r) += w * Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>>(c.v_slot + std::size_t(h) * D, D);
    }
  }
  const int nkb = blocks(S, block_k);
  for (int jb = 0; jb < nkb; ++jb) {
    const int j0 = jb * block_k, C = std::min(block_k, S - j0);
    const TileClass cls = c.win.classify(i0, i0 + R, j0, j0 + C);
    if (cls == TileClass::empty) continue;
    tile_scores(c, h, i0, R, j0, C, cls, Q, Kh + std::size_t(j0) * D, off, Sm, vis);
    const bool partial = cls == TileClass::partial;
    P.resize(R, C);
    for (int r = 0; r < R; ++r) {
      const T* srow = Sm.data() + std::size_t(r) * C;
      T* prow = P.data() + std::size_t(r) * C;
      if constexpr (vec_rows<K, T>) {
        if (!partial) {
          const Eigen::Map<const ArrRow<T>> sa(srow, C);
          if constexpr (V::use_shift) {
            const T mt = sa.maxCoeff();
            if (mt > m[r]) {
              const T alpha = m[r] == neg_inf ? T(0) : std::exp(m[r] - mt);
              l[r] *= alpha;
              acc.row(r) *= alpha;
              m[r] = mt;
            }
          }
          Eigen::Map<ArrRow<T>> pa(prow, C);
          if constexpr (K::tile_hooks == TileHooks::fused_row) {
            l[r] += K::forward_row(sa, m[r], pa);
          } else {
            pa = K::weight_vec(sa, m[r]);
            if constexpr (K::separate_mass)
              l[r] += K::mass_vec(sa, m[r]).sum();
            else
              l[r] += pa.sum();
          }
          continue;
        }
      }
      const unsigned char* vrow = partial ? vis.data() + std::size_t(r) * C : nullptr;
      if constexpr (V::use_shift) {
        T mt = neg_inf;
        for (int cc = 0; cc < C; ++cc)
          if (!partial || vrow[cc]) mt = std::max(mt, srow[cc]);
        if (mt > m[r]) {  // rescale what was accumulated under the old max
          const T alpha = m[r] == neg_inf ? T(0) : std::exp(m[r] - mt);
          l[r] *= alpha;
          acc.row(r) *= alpha;
          m[r] = mt;
        }
      }
      T lsum = T(0);
      for (int cc = 0; cc < C; ++cc) {
        if (partial && !vrow[cc]) {
          prow[cc] = T(0);
          continue;
        }
        prow[cc] = K::weight(srow[cc], m[r]);
        if constexpr (K::separate_mass)
          lsum += K::mass(srow[cc], m[r]);
        else
          lsum += prow[cc];
      }
      l[r] += lsum;
    }
    if constexpr (G::has_in) {
      Vg = CMap<T>(Vh + std::size_t(j0) * D, C, D);
      for (int cc = 0; cc < C; ++cc) Vg.row(cc) *= gin[j0 + cc];
      acc.noalias() += P * Vg;
    } else {
      acc.noalias() += P * CMap<T>(Vh + std::size_t(j0) * D, C, D);
    }
  }
  // row epilogue
  for (int r = 0; r < R; ++r) {
    const int i = i0 + r;
    const std::size_t ri = c.row(b, h, i);
    const T rho = V::row_stage::rho(l[r], n[r], m[r], c.sink_of(h));
    T* u = out.saved.pre_norm + ri * D;
    for (int d = 0; d < D; ++d) u[d] = acc(r, d) / rho;
    out.saved.row_max[ri] = m[r];
    out.saved.row_sum[ri] = l[r];
    row_forward(c, b, h, i, u, m[r], out.o + ri * D);
  }
}

}  // namespace detail

// The fused op's bodies; the entry points fused_forward/fused_backward (end of file) apply a kernel's query scale
// first (Note [query scale]).
template <class V, class T>
void fused_forward_unscaled(const AttentionParams<T>& p, const Inputs<T>& in, Outputs<T>& out) {
  static_assert(is_variant_v<V>, "fused_forward<V, T>: V must be a sinklab::attention::Variant<K, N, G, W>");
  SINKLAB_CHECK(out.o && out.saved.row_max && out.saved.row_sum && out.saved.pre_norm,
                "fused_forward: o, saved.row_max, saved.row_sum and saved.pre_norm are required");
  const detail::Context<V, T> c(p, in, out.saved, detail::FeatureCache::fill);
  const int nqb = detail::blocks(p.S, detail::block_q);
  const long tasks = long(p.B) * p.H * nqb;
#pragma omp parallel for schedule(dynamic, 1)
  for (long t = 0; t < tasks; ++t) {
    // later query blocks see more keys under a causal mask: hand them out first
    const int ib = nqb - 1 - int(t % nqb);
    const long bh = t / nqb;
    detail::forward_block(c, int(bh / p.H), int(bh % p.H), ib, out);
  }
}

namespace detail {

// Stage B of the backward for one (b, kv head): see the header comment.
template <class V, class T>
void backward_kv_task(const Context<V, T>& c, int b, int hk, const Saved<T>& sv, const T* dA, const T* dL, T* dQp,
                      T* dKp, T* dv, T* dg_in) {
  using K = typename V::kernel;
  using G = typename V::gate;
  const int D = c.D, S = c.S;
  const T* Kh = c.Kp + (std::size_t(b) * c.Hkv + hk) * S * D;
  const T* Vh = c.in->v + (std::size_t(b) * c.Hkv + hk) * S * D;
  T* dKh = dKp + (std::size_t(b) * c.Hkv + hk) * S * D;
  T* dVh = dv + (std::size_t(b) * c.Hkv + hk) * S * D;
  RowMat<T> Sm, P, dP, dS, Vg, dKacc, dVacc, dVg;
  std::vector<unsigned char> vis;
  T off[block_q];
  const int nkb = blocks(S, block_k), nqb = blocks(S, block_q);
  for (int jb = 0; jb < nkb; ++jb) {
    const int j0 = jb * block_k, C = std::min(block_k, S - j0);
    const T* Kt = Kh + std::size_t(j0) * D;
    CMap<T> Vt(Vh + std::size_t(j0) * D, C, D);
    dKacc.setZero(C, D);
    dVacc.setZero(C, D);
    for (int h = hk * c.group; h < (hk + 1) * c.group; ++h) {
      const T* gin = G::has_in ? c.g_in + c.row(b, h, 0) : nullptr;
      if constexpr (G::has_in) {
        Vg = Vt;
        for (int cc = 0; cc < C; ++cc) Vg.row(cc) *= gin[j0 + cc];
        dVg.setZero(C, D);
      }
      for (int ib = 0; ib < nqb; ++ib) {
        const int i0 = ib * block_q, R = std::min(block_q, S - i0);
        const TileClass cls = c.win.classify(i0, i0 + R, j0, j0 + C);
        if (cls == TileClass::empty) continue;
        const std::size_t r0 = c.row(b, h, i0);
        const T* Q = c.Q + r0 * D;
        for (int r = 0; r < R; ++r) off[r] = K::row_offset(c.n_of(i0 + r), c.S, T(0));
        tile_scores(c, h, i0, R, j0, C, cls, Q, Kt, off, Sm, vis);
        CMap<T> dAt(dA + r0 * D, R, D);
        P.resize(R, C);
        dS.resize(R, C);
        if constexpr (G::has_in)
          dP.noalias() = dAt * Vg.transpose();
        else
          dP.noalias() = dAt * Vt.transpose();
        const bool partial = cls == TileClass::partial;
        for (int r = 0; r < R; ++r) {
          const T mi = sv.row_max[r0 + r], dli = dL[r0 + r];
          const T* srow = Sm.data() + std::size_t(r) * C;
          const T* dprow = dP.data() + std::size_t(r) * C;
          T* prow = P.data() + std::size_t(r) * C;
          T* dsrow = dS.data() + std::size_t(r) * C;
          if constexpr (vec_rows<K, T>) {
            if (!partial) {
              const Eigen::Map<const ArrRow<T>> sa(srow, C), dpa(dprow, C);
              Eigen::Map<ArrRow<T>> pa(prow, C), dsa(dsrow, C);
              if constexpr (K::tile_hooks == TileHooks::fused_row) {
                K::backward_row(sa, mi, dpa, dli, pa, dsa);
              } else {
                pa = K::weight_vec(sa, mi);
                if constexpr (K::separate_mass)
                  dsa = K::dweight_vec(sa, mi, pa) * dpa + K::dmass_vec(sa, mi) * dli;
                else
                  dsa = K::dweight_vec(sa, mi, pa) * (dpa + dli);
              }
              continue;
            }
          }
          const unsigned char* vrow = partial ? vis.data() + std::size_t(r) * C : nullptr;
          for (int cc = 0; cc < C; ++cc) {
            if (partial && !vrow[cc]) {
              prow[cc] = T(0);
              dsrow[cc] = T(0);
              continue;
            }
            const T s = srow[cc];
            prow[cc] = K::weight(s, mi);
            if constexpr (K::separate_mass)
              dsrow[cc] = K::dweight(s, mi) * dprow[cc] + K::dmass(s, mi) * dli;
            else
              dsrow[cc] = K::dweight(s, mi) * (dprow[cc] + dli);
          }
        }
        if constexpr (G::has_in)
          dVg.noalias() += P.transpose() * dAt;
        else
          dVacc.noalias() += P.transpose() * dAt;
        dKacc.noalias() += dS.transpose() * CMap<T>(Q, R, D);
        MMap<T>(dQp + r0 * D, R, D).noalias() += c.scale * (dS * CMap<T>(Kt, C, D));
      }
      if constexpr (G::has_in) {
        T* dgi = dg_in + c.row(b, h, 0);
        for (int cc = 0; cc < C; ++cc) {
          dgi[j0 + cc] = Vt.row(cc).dot(dVg.row(cc));
          dVacc.row(cc) += gin[j0 + cc] * dVg.row(cc);
        }
      }
    }
    MMap<T>(dKh + std::size_t(j0) * D, C, D) = c.scale * dKacc;
    MMap<T>(dVh + std::size_t(j0) * D, C, D) = dVacc;
  }
}

template <class T>
void sum_partials(const std::vector<T>& parts, int count, int width, T* dst) {
  if (!dst) return;
  for (int w = 0; w < width; ++w) dst[w] = T(0);
  for (int p = 0; p < count; ++p)
    for (int w = 0; w < width; ++w) dst[w] += parts[std::size_t(p) * width + w];
}

// The backward around stage B: (A) before it, (C) and (D) after. `stage_b(c, dA, dL, dQp, dKp)` fills dKp, g.dv and
// dg_in and adds the key columns' share to dQp (which holds the slot's share from stage A); dQp/dKp are the
// gradients in feature space for feature kernels. The quadratic tiles (fused_backward) and the chunked recurrence
// (recurrent_backward) are the two stage Bs.
template <class V, class T, class StageB>
void backward_with(const AttentionParams<T>& p, const Inputs<T>& in, const Saved<T>& sv, const T* dout, Grads<T>& g,
                   StageB&& stage_b) {
  using K = typename V::kernel;
  using G = typename V::gate;
  using Vec = typename V::vector_stage;
  using Row = typename V::row_stage;
  SINKLAB_CHECK(dout, "fused_backward: dout is required");
  SINKLAB_CHECK(sv.row_max && sv.row_sum && sv.pre_norm, "fused_backward: the saved statistics are required");
  const detail::Context<V, T> c(p, in, sv, detail::FeatureCache::read);
  check_grads(V::params, p, g, "fused_backward");
  const NamedGrads<T> dn(g);  // the built-in policies' gradients (dg_in: stage B)

  const int B = p.B, H = p.H, S = p.S, D = p.D;
  const int BH = B * H;
  const std::size_t nrows = p.row_count();
  std::vector<T> dA(nrows * D), dL(nrows);
  // dq in the feature space (score kernels: dq itself)
  std::vector<T> dQf, dKf;
  T* dQp = g.dq;
  T* dKp = g.dk;
  if constexpr (K::is_feature) {
    dQf.assign(nrows * D, T(0));
    dKf.assign(p.kv_size(), T(0));
    dQp = dQf.data();
    dKp = dKf.data();
  }
  // per-(b, h) partials of parameters shared across rows, reduced in a fixed order at the end
  std::vector<T> pw(Vec::has_weight ? std::size_t(BH) * D : 0), pb(Vec::has_bias ? std::size_t(BH) * D : 0);
  std::vector<T> psink(Row::uses_sink_logit ? BH : 0);
  std::vector<T> pks(c.slot ? std::size_t(BH) * D : 0), pvs(c.slot_value ? std::size_t(BH) * D : 0);

  // (A) row epilogue backward + the slot column
#pragma omp parallel for schedule(static)
  for (int bh = 0; bh < BH; ++bh) {
    const int b = bh / H, h = bh % H;
    T* dw = Vec::has_weight ? pw.data() + std::size_t(bh) * D : nullptr;
    T* db = Vec::has_bias ? pb.data() + std::size_t(bh) * D : nullptr;
    T dsink = T(0);
    for (int i = 0; i < S; ++i) {
      const std::size_t ri = c.row(b, h, i);
      T* dgo = G::has_out ? dn.g_out + ri * (G::out_elementwise ? D : 1) : nullptr;
      detail::row_backward(c, b, h, i, sv.pre_norm + ri * D, sv.row_max[ri], sv.row_sum[ri], dout + ri * D,
                           dA.data() + ri * D, dL[ri], dgo, dw, db, dsink);
      T* dq_row = dQp + ri * D;
      if (c.slot) {
        const T* q = c.Q + ri * D;
        const T* ks = c.Ks + std::size_t(h) * D;
        const T mi = sv.row_max[ri];
        T s = T(0), dp = T(0);
        for (int d = 0; d < D; ++d) s += q[d] * ks[d];
        s = s * c.scale + K::row_offset(c.n_of(i), c.S, T(0));
        if (c.slot_value) {
          const T* vs = c.v_slot + std::size_t(h) * D;
          for (int d = 0; d < D; ++d) dp += dA[ri * D + d] * vs[d];
          const T w = K::weight(s, mi);
          T* dvs = pvs.data() + std::size_t(bh) * D;
          for (int d = 0; d < D; ++d) dvs[d] += w * dA[ri * D + d];
        }
        const T ds = K::dweight(s, mi) * dp + K::dmass(s, mi) * dL[ri];
        T* dks = pks.data() + std::size_t(bh) * D;
        for (int d = 0; d < D; ++d) {
          dq_row[d] = c.scale * ds * ks[d];
          dks[d] += c.scale * ds * q[d];
        }
      } else {
        for (int d = 0; d < D; ++d) dq_row[d] = T(0);
      }
    }
    if constexpr (Row::uses_sink_logit) psink[bh] = dsink;
  }

  // (B) the key columns
  stage_b(c, dA.data(), dL.data(), dQp, dKp);

  // (C) feature-map backward
  std::vector<T> pks_sum(c.slot ? std::size_t(H) * D : 0);
  for (int h = 0; h < H && c.slot; ++h)
    for (int b = 0; b < B; ++b)
      for (int d = 0; d < D; ++d) pks_sum[std::size_t(h) * D + d] += pks[(std::size_t(b) * H + h) * D + d];
  if constexpr (K::is_feature) {
    using Phi = typename K::phi_type;
    const long nq = long(nrows), nk = long(p.kv_size() / D);
    const int chunk = 256;  // fixed chunks → fixed reduction order for the MLP weight gradients
    const long nchunks = (nq + chunk - 1) / chunk + (nk + chunk - 1) / chunk;
    std::vector<T> pw1(Phi::learnable ? std::size_t(nchunks) * D * D : 0), pw2(pw1.size());
#pragma omp parallel for schedule(static)
    for (long ch = 0; ch < nchunks; ++ch) {
      T* w1 = Phi::learnable ? pw1.data() + std::size_t(ch) * D * D : nullptr;
      T* w2 = Phi::learnable ? pw2.data() + std::size_t(ch) * D * D : nullptr;
      // chunks never straddle the q/k boundary, so each is one batched call
      const long cq = (nq + chunk - 1) / chunk;
      const bool isq = ch < cq;
      const long r0 = (isq ? ch : ch - cq) * chunk, n = std::min<long>(chunk, (isq ? nq : nk) - r0);
      if (isq)
        detail::phi_backward_rows<Phi>(in.q + r0 * D, dQp + r0 * D, g.dq + r0 * D, n, D, c.phi, w1, w2,
                                       c.q_hidden ? c.q_hidden + r0 * D : nullptr);
      else
        detail::phi_backward_rows<Phi>(in.k + r0 * D, dKp + r0 * D, g.dk + r0 * D, n, D, c.phi, w1, w2,
                                       c.k_hidden ? c.k_hidden + r0 * D : nullptr);
    }
    std::vector<T> sw1(Phi::learnable ? std::size_t(D) * D : 0), sw2(sw1.size());
    if (c.slot) {  // slot keys went through φ too
      std::vector<T> tmp(D);
      for (int h = 0; h < H; ++h) {
        Phi::backward(c.k_slot + std::size_t(h) * D, pks_sum.data() + std::size_t(h) * D, tmp.data(), D, c.phi,
                      sw1.data(), sw2.data());
        std::copy(tmp.begin(), tmp.end(), pks_sum.begin() + std::size_t(h) * D);
      }
    }
    if constexpr (Phi::learnable) {
      detail::sum_partials(pw1, int(nchunks), D * D, dn.mlp_w1);
      detail::sum_partials(pw2, int(nchunks), D * D, dn.mlp_w2);
      for (int e = 0; e < D * D; ++e) {
        dn.mlp_w1[e] += sw1[e];
        dn.mlp_w2[e] += sw2[e];
      }
    }
  }

  // (D) shared parameters
  if constexpr (Vec::has_weight) detail::sum_partials(pw, BH, D, dn.norm_w);
  if constexpr (Vec::has_bias) detail::sum_partials(pb, BH, D, dn.norm_b);
  if constexpr (Row::uses_sink_logit)
    for (int h = 0; h < H; ++h) {
      dn.sink[h] = T(0);
      for (int b = 0; b < B; ++b) dn.sink[h] += psink[std::size_t(b) * H + h];
    }
  if (c.slot) std::copy(pks_sum.begin(), pks_sum.end(), dn.k_slot);
  if (c.slot_value)
    for (int h = 0; h < H; ++h)
      for (int d = 0; d < D; ++d) {
        T acc = T(0);
        for (int b = 0; b < B; ++b) acc += pvs[(std::size_t(b) * H + h) * D + d];
        dn.v_slot[std::size_t(h) * D + d] = acc;
      }
}

}  // namespace detail

template <class V, class T>
void fused_backward_unscaled(const AttentionParams<T>& p, const Inputs<T>& in, const Saved<T>& sv, const T* dout,
                             Grads<T>& g) {
  static_assert(is_variant_v<V>, "fused_backward<V, T>: V must be a sinklab::attention::Variant<K, N, G, W>");
  T* const dg_in = g[param::g_in];
  detail::backward_with<V>(p, in, sv, dout, g,
                           [&](const detail::Context<V, T>& c, const T* dA, const T* dL, T* dQp, T* dKp) {
                             // key blocks, owned per (b, kv head)
                             const int BHkv = p.B * p.Hkv;
#pragma omp parallel for schedule(dynamic, 1)
                             for (int t = 0; t < BHkv; ++t)
                               detail::backward_kv_task(c, t / p.Hkv, t % p.Hkv, sv, dA, dL, dQp, dKp, g.dv, dg_in);
                           });
}

// fused_forward<V, T>(p, in, out): o and the saved statistics; fused_backward<V, T>(p, in, saved, dout, g): every
// gradient, overwritten (params.hpp has the contracts).
template <class V, class T>
void fused_forward(const AttentionParams<T>& p, const Inputs<T>& in, Outputs<T>& out) {
  if constexpr (scales_queries_v<V>)
    query_scale::forward<V>(p, in, [&](const Inputs<T>& q) { fused_forward_unscaled<unscaled_variant_t<V>>(p, q, out); });
  else
    fused_forward_unscaled<V>(p, in, out);
}
template <class V, class T>
void fused_backward(const AttentionParams<T>& p, const Inputs<T>& in, const Saved<T>& sv, const T* dout, Grads<T>& g) {
  if constexpr (scales_queries_v<V>)
    query_scale::backward<V>(p, in, g, [&](const Inputs<T>& q) {
      fused_backward_unscaled<unscaled_variant_t<V>>(p, q, sv, dout, g);
    });
  else
    fused_backward_unscaled<V>(p, in, sv, dout, g);
}

}  // namespace sinklab::attention
