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

namespace {
// Pools are leaked on purpose: tensors in static storage may outlive any destructor order we could choose, and
// the driver reclaims device memory at process exit.
struct Pools {
  std::mutex mu;
  std::vector<DevicePool*> by_device;
};
Pools& pools() {
  static Pools* p = new Pools();
  return *p;
}
}  // namespace

DevicePool& device_pool() {
  int dev = 0;
  SINKLAB_CUDA_CHECK(cudaGetDevice(&dev));
  Pools& ps = pools();
  std::lock_guard<std::mutex> lock(ps.mu);
  if (ps.by_device.size() <= static_cast<std::size_t>(dev)) ps.by_device.resize(dev + 1, nullptr);
  if (!ps.by_device[dev]) ps.by_device[dev] = new DevicePool();
  return *ps.by_device[dev];
}

void forget_stream(cudaStream_t stream) {
  if (!stream) return;  // the legacy default stream is never destroyed
  Pools& ps = pools();
  std::vector<DevicePool*> all;
  {
    std::lock_guard<std::mutex> lock(ps.mu);
    all = ps.by_device;
  }
  // Only the pool of the stream's device holds references to it (the others scan and find none); its events are
  // made with that device current, as cudaEventRecord requires.
  int current = 0;
  SINKLAB_CUDA_CHECK(cudaGetDevice(&current));
  for (std::size_t dev = 0; dev < all.size(); ++dev) {
    if (!all[dev]) continue;
    if (static_cast<int>(dev) != current) SINKLAB_CUDA_CHECK(cudaSetDevice(static_cast<int>(dev)));
    all[dev]->forget_stream(stream);
  }
  SINKLAB_CUDA_CHECK(cudaSetDevice(current));
}

}  // namespace sinklab::backend::cuda
