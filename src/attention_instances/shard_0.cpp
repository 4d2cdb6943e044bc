// Instantiates the registry's variants whose unique-type index is 0 mod shard_count (see instances.hpp).
#include "instances.hpp"

namespace sinklab::attention::instances {
void fill_shard_0(const AttentionOps** table) { fill_shard<0>(table); }
}  // namespace sinklab::attention::instances
