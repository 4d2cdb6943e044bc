#pragma once
// The loops' view of the tensors that the built-in policies declare (Note [parameter lists]): each looked up by key
// once per call, null where the variant has none. The fused CPU op, the reference and the CUDA orchestration read
// their own policies' tensors through these; a new policy reads its own with `in[spec]`.
#include "sinklab/attention/params.hpp"
#include "sinklab/attention/variant.hpp"

namespace sinklab::attention {

template <class T>
struct NamedInputs {
  const T *g_in, *g_out, *norm_w, *norm_b, *sink, *k_slot, *v_slot, *mlp_w1, *mlp_w2;
  explicit NamedInputs(const Inputs<T>& in)
      : g_in(in[param::g_in]),
        g_out(in[param::g_out_headwise]),  // one key for both granularities
        norm_w(in[param::norm_weight]),
        norm_b(in[param::norm_bias]),
        sink(in[param::sink_logit]),
        k_slot(in[param::k_slot]),
        v_slot(in[param::v_slot]),
        mlp_w1(in[param::mlp_w1]),
        mlp_w2(in[param::mlp_w2]) {}
};

template <class T>
struct NamedGrads {
  T *g_in, *g_out, *norm_w, *norm_b, *sink, *k_slot, *v_slot, *mlp_w1, *mlp_w2;
  explicit NamedGrads(const Grads<T>& g)
      : g_in(g[param::g_in]),
        g_out(g[param::g_out_headwise]),
        norm_w(g[param::norm_weight]),
        norm_b(g[param::norm_bias]),
        sink(g[param::sink_logit]),
        k_slot(g[param::k_slot]),
        v_slot(g[param::v_slot]),
        mlp_w1(g[param::mlp_w1]),
        mlp_w2(g[param::mlp_w2]) {}
};

}  // namespace sinklab::attention
