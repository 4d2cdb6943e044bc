// Instantiates the registry's variants whose unique-type index is 2 mod shard_count (see instances.hpp).
#include "instances.hpp"

namespace sinklab::attention::instances {
void fill_shard_2(const AttentionOps** table) { fill_shard<2>(table); }
}  // namespace sinklab::attention::instances
