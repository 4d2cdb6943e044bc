// Instantiates the registry's variants whose unique-type index is 6 mod shard_count (see instances.hpp).
#include "instances.hpp"

namespace sinklab::attention::instances {
void fill_shard_6(const AttentionOps** table) { fill_shard<6>(table); }
}  // namespace sinklab::attention::instances
