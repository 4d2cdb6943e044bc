// The CUDA caching allocator's device calls, and one pool per device (see caching_pool.hpp for the bookkeeping).
#include <memory>
#include <mutex>
#include <vector>

#include "sinklab/backend/cuda/allocator.cuh"

namespace sinklab::backend::cuda {

void* CudaPoolBackend::alloc(std::size_t bytes) {
  void* p = nullptr;
  const cudaError_t e = cudaMalloc(&p, bytes);
  if (e == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();  // clear it: the pool empties its cache and retries
    return nullptr;
  }
  SINKLAB_CUDA_CHECK(e);
  return p;
}
void CudaPoolBackend::free(void* p) { SINKLAB_CUDA_CHECK(cudaFree(p)); }
cudaEvent_t CudaPoolBackend::record(cudaStream_t s) {
  cudaEvent_t e = nullptr;
  SINKLAB_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
  SINKLAB_CUDA_CHECK(cudaEventRecord(e, s));
  return e;
}
void CudaPoolBackend::wait(cudaStream_t s, cudaEvent_t e) { SINKLAB_CUDA_CHECK(cudaStreamWaitEvent(s, e, 0)); }
void CudaPoolBackend::destroy(cudaEvent_t e) { SINKLAB_CUDA_CHECK(cudaEventDestroy(e)); }

DevicePool& device_pool() {
  // Pools are leaked on purpose: tensors in static storage may outlive any destructor order we could choose, and
  // the driver reclaims device memory at process exit.
  static std::mutex mu;
  static std::vector<DevicePool*> pools;
  int dev = 0;
  SINKLAB_CUDA_CHECK(cudaGetDevice(&dev));
  std::lock_guard<std::mutex> lock(mu);
  if (pools.size() <= static_cast<std::size_t>(dev)) pools.resize(dev + 1, nullptr);
  if (!pools[dev]) pools[dev] = new DevicePool();
  return *pools[dev];
}

}  // namespace sinklab::backend::cuda
