// The tile kernels (forward, dK/dV, dQ: fp32 at head-dim capacities 64/128/256, bf16 tensor cores at head dims
// 64/128) of every TileTraits t with tile_shard_of(t) == 4 (instances.cuh).
#include "instances.cuh"

namespace sinklab::attention::cuda_instances {
void fill_tile_shard_4(TileOps<float>* table) { fill_tile_shard<4>(table); }
}  // namespace sinklab::attention::cuda_instances
