// attention_ops(): the row → instantiated-ops table behind AnyAttention. Only this TU sees the whole table; the
// instantiations themselves live in shard_*.cpp.
#include <array>

#include "instances.hpp"

namespace sinklab::attention {

const AttentionOps& attention_ops(std::size_t index) {
  static const auto table = [] {
    std::array<const AttentionOps*, unique_variant_types::size> t{};
    instances::fill_shard_0(t.data());
    instances::fill_shard_1(t.data());
    instances::fill_shard_2(t.data());
    instances::fill_shard_3(t.data());
    instances::fill_shard_4(t.data());
    instances::fill_shard_5(t.data());
    instances::fill_shard_6(t.data());
    instances::fill_shard_7(t.data());
    return t;
  }();
  SINKLAB_CHECK(index < variant_count, "attention_ops: row ", index, " out of range (", variant_count, " variants)");
  return *table[variant_unique_index[index]];
}

}  // namespace sinklab::attention
