// Per-row kernels and host orchestration of every unique Variant whose index is 0 mod variant_shard_count
// (instances.cuh).
#include "instances.cuh"

namespace sinklab::attention::cuda_instances {
void fill_variant_shard_0(AttentionCudaOps* table) { fill_variant_shard<0>(table); }
}  // namespace sinklab::attention::cuda_instances
