// release_stream_resources: what must let go of a stream before it is destroyed (stream.cuh).
#include <cstdio>
#include <exception>

#include "sinklab/backend/cuda/allocator.cuh"
#include "sinklab/backend/cuda/gemm.cuh"
#include "sinklab/backend/cuda/stream.cuh"

namespace sinklab::backend::cuda {

void release_stream_resources(cudaStream_t stream) noexcept {
  if (!stream) return;
  try {
    release_gemm_workspace(stream);  // first: its block is then on the free list, which forget_stream covers
    forget_stream(stream);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sinklab: releasing a CUDA stream's resources failed: %s\n", e.what());
  }
}

}  // namespace sinklab::backend::cuda
