// attention_cuda_ops() and tile_ops(): the tables behind AnyAttentionCuda, filled from the shards.
#include <array>

#include "instances.cuh"

namespace sinklab::attention {
namespace cuda_instances {

const TileOps<float>& tile_ops(std::size_t i) {
  static const auto table = [] {
    std::array<TileOps<float>, tile_list::size> t{};
    fill_tile_shard_0(t.data());
    fill_tile_shard_1(t.data());
    fill_tile_shard_2(t.data());
    fill_tile_shard_3(t.data());
    fill_tile_shard_4(t.data());
    return t;
  }();
  return table[i];
}

}  // namespace cuda_instances

const AttentionCudaOps& attention_cuda_ops(std::size_t index) {
  static const auto table = [] {
    std::array<AttentionCudaOps, unique_variant_types::size> t{};
    cuda_instances::fill_variant_shard_0(t.data());
    cuda_instances::fill_variant_shard_1(t.data());
    cuda_instances::fill_variant_shard_2(t.data());
    cuda_instances::fill_variant_shard_3(t.data());
    return t;
  }();
  SINKLAB_CHECK(index < variant_count, "attention_cuda_ops: row ", index, " out of range (", variant_count,
                " variants)");
  return table[variant_unique_index[index]];
}

}  // namespace sinklab::attention
