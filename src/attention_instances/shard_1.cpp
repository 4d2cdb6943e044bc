// Instantiates the registry's variants whose unique-type index is 1 mod shard_count (see instances.hpp).
#include "instances.hpp"

namespace sinklab::attention::instances {
void fill_shard_1(const AttentionOps** table) { fill_shard<1>(table); }
}  // namespace sinklab::attention::instances
