#pragma once
// Stream: an owning, move-only cudaStream_t. Stream::default_stream() is the legacy null stream (not owned).
// Before an owned stream is destroyed, everything that keeps its handle lets go of it (release_stream_resources).
#include <cuda_runtime.h>

#include <utility>

#include "sinklab/backend/cuda/check.cuh"

namespace sinklab::backend::cuda {

// Returns the stream's GEMM workspace to the pool (Note [workspace per stream], gemm.cu) and makes every caching
// pool drop the handle (Note [destroyed streams], caching_pool.hpp). Call it before cudaStreamDestroy on a raw
// stream the backend has seen; Stream does. Never throws (destructors call it): errors are printed to stderr.
void release_stream_resources(cudaStream_t stream) noexcept;

class Stream {
 public:
  // A new non-blocking stream (does not synchronise with the null stream).
  static Stream create() {
    cudaStream_t s = nullptr;
    SINKLAB_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    return Stream(s, true);
  }
  static Stream default_stream() { return Stream(nullptr, false); }

  Stream() = default;
  Stream(Stream&& o) noexcept : s_(std::exchange(o.s_, nullptr)), owned_(std::exchange(o.owned_, false)) {}
  Stream& operator=(Stream&& o) noexcept {
    if (this != &o) {
      reset();
      s_ = std::exchange(o.s_, nullptr);
      owned_ = std::exchange(o.owned_, false);
    }
    return *this;
  }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  ~Stream() { reset(); }

  cudaStream_t get() const { return s_; }
  operator cudaStream_t() const { return s_; }
  void synchronize() const { SINKLAB_CUDA_CHECK(cudaStreamSynchronize(s_)); }

 private:
  Stream(cudaStream_t s, bool owned) : s_(s), owned_(owned) {}
  void reset() {
    if (owned_ && s_) {
      release_stream_resources(s_);
      (void)cudaStreamDestroy(s_);  // no throw from a destructor
    }
    s_ = nullptr;
    owned_ = false;
  }
  cudaStream_t s_ = nullptr;
  bool owned_ = false;
};

}  // namespace sinklab::backend::cuda
