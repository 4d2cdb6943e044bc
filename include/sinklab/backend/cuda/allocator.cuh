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
// `p` (an allocation's base pointer) is also used on `stream`: its reuse waits for that stream's work queued
// before the free (Note [record_stream] in caching_pool.hpp). Tensor<T, Cuda>::record_stream is the usual form.
inline void record_stream(const void* p, cudaStream_t stream) { device_pool().record_stream(p, stream); }
// Every pool drops `stream` before it is destroyed (Note [destroyed streams]); Stream's destructor calls this
// through release_stream_resources (stream.cuh). Call it yourself before cudaStreamDestroy on a raw stream that
// allocations or record_stream have seen.
void forget_stream(cudaStream_t stream);
inline void empty_cache() { device_pool().empty_cache(); }
inline AllocatorStats allocator_stats() { return device_pool().stats(); }

}  // namespace sinklab::backend::cuda
