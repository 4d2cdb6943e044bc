#pragma once
// The loops' view of the tensors that the built-in policies declare (Note [parameter lists]): each looked up by key
// once per call, null where the variant has none. The fused CPU op, the reference and the CUDA orchestration read
// their own policies' tensors through these; a new policy reads its own with `in[spec]`.
#include "sinklab/attention/params.hpp"
#include "sinklab/attention/variant.hpp"

namespace sinklab::attention {

// P = const T* over Inputs<T>, T* over Grads<T> (both index by ParamSpec).
template <class P>
struct NamedTensors {
  P g_in, g_out, norm_w, norm_b, sink, k_slot, v_slot, mlp_w1, mlp_w2;
  template <class Table>
  explicit NamedTensors(const Table& t)
      : g_in(t[param::g_in]),
        g_out(t[param::g_out_headwise]),  // one key for both granularities
        norm_w(t[param::norm_weight]),
        norm_b(t[param::norm_bias]),
        sink(t[param::sink_logit]),
        k_slot(t[param::k_slot]),
        v_slot(t[param::v_slot]),
        mlp_w1(t[param::mlp_w1]),
        mlp_w2(t[param::mlp_w2]) {}
};
template <class T>
using NamedInputs = NamedTensors<const T*>;
template <class T>
using NamedGrads = NamedTensors<T*>;

}  // namespace sinklab::attention
