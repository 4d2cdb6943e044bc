// Instantiates the registry's variants whose unique-type index is 3 mod shard_count (see instances.hpp).
#include "instances.hpp"

namespace sinklab::attention::instances {
void fill_shard_3(const AttentionOps** table) { fill_shard<3>(table); }
}  // namespace sinklab::attention::instances
