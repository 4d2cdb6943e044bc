#pragma once
// The process-wide CUDA caching allocator (one pool per device), built on CachingPool's bookkeeping.
// Implementation in src/cuda/allocator.cu.
#include <cuda_runtime.h>

#include <cstddef>

#include "sinklab/backend/cuda/caching_pool.hpp"
#include "sinklab/backend/cuda/check.cuh"

namespace sinklab::backend::cuda {

// Raw device calls behind CachingPool.
struct CudaPoolBackend {
  using Stream = cudaStream_t;
  using Event = cudaEvent_t;
  void* alloc(std::size_t bytes);  // nullptr on cudaErrorMemoryAllocation; other errors throw
  void free(void* p);
  Event record(Stream s);
  void wait(Stream s, Event e);
  void destroy(Event e);
};

using DevicePool = CachingPool<CudaPoolBackend>;

// The pool of the current device.
DevicePool& device_pool();

inline void* device_allocate(std::size_t bytes, cudaStream_t stream = nullptr) {
  return device_pool().allocate(bytes, stream);
}
inline void device_free(void* p) { device_pool().deallocate(p); }
inline void empty_cache() { device_pool().empty_cache(); }
inline AllocatorStats allocator_stats() { return device_pool().stats(); }

}  // namespace sinklab::backend::cuda
