// Instantiates the registry's variants whose unique-type index is 4 mod shard_count (see instances.hpp).
#include "instances.hpp"

namespace sinklab::attention::instances {
void fill_shard_4(const AttentionOps** table) { fill_shard<4>(table); }
}  // namespace sinklab::attention::instances
