// Instantiates the registry's variants whose unique-type index is 5 mod shard_count (see instances.hpp).
#include "instances.hpp"

namespace sinklab::attention::instances {
void fill_shard_5(const AttentionOps** table) { fill_shard<5>(table); }
}  // namespace sinklab::attention::instances
