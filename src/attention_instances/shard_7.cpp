// Instantiates the registry's variants whose unique-type index is 7 mod shard_count (see instances.hpp).
#include "instances.hpp"

namespace sinklab::attention::instances {
void fill_shard_7(const AttentionOps** table) { fill_shard<7>(table); }
}  // namespace sinklab::attention::instances
