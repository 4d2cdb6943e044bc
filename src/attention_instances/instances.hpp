#pragma once
// Private to sinklab_attention_instances: builds the AttentionOps of one Variant and fills the registry's table in
// shards, so the heavy instantiations spread over several translation units (2-core CI).
#include <cstddef>
#include <utility>

#include "sinklab/attention.hpp"

namespace sinklab::attention::instances {

inline constexpr std::size_t shard_count = 8;

template <class V, class T>
constexpr AttentionOpsT<T> ops_t() {
  AttentionOpsT<T> o{&fused_forward<V, T>,      &fused_backward<V, T>,    &reference_forward<V, T>,
                     &reference_backward<V, T>, &attention_weights<V, T>, nullptr,
                     nullptr};
  if constexpr (V::has_recurrent_form) {
    o.recurrent_forward = &recurrent_forward<V, T>;
    o.recurrent_backward = &recurrent_backward<V, T>;
  }
  return o;
}

template <class V>
const AttentionOps* ops_of() {
  static const AttentionOps ops{traits_of<V>(), ops_t<V, float>(), ops_t<V, double>()};
  return &ops;
}

// table[u] for every unique-type index u with u % shard_count == Shard.
template <std::size_t Shard>
void fill_shard(const AttentionOps** table) {
  [&]<std::size_t... U>(std::index_sequence<U...>) {
    (
        [&] {
          if constexpr (U % shard_count == Shard) table[U] = ops_of<typename meta::At<U, unique_variant_types>::type>();
        }(),
        ...);
  }
  (std::make_index_sequence<unique_variant_types::size>{});
}

void fill_shard_0(const AttentionOps**);
void fill_shard_1(const AttentionOps**);
void fill_shard_2(const AttentionOps**);
void fill_shard_3(const AttentionOps**);
void fill_shard_4(const AttentionOps**);
void fill_shard_5(const AttentionOps**);
void fill_shard_6(const AttentionOps**);
void fill_shard_7(const AttentionOps**);

}  // namespace sinklab::attention::instances
