#pragma once
// Error checks that name the failing call and its file:line, throwing sinklab::Error.
//   SINKLAB_CUDA_CHECK(cudaMalloc(&p, n));   SINKLAB_CUBLAS_CHECK(cublasLtMatmul(...));
#include <cuda_runtime.h>

#include "sinklab/core/error.hpp"

#define SINKLAB_CUDA_CHECK(call)                                                                            \
  do {                                                                                                      \
    const cudaError_t sinklab_err_ = (call);                                                                \
    if (sinklab_err_ != cudaSuccess)                                                                        \
      ::sinklab::detail::throw_error(__FILE__, __LINE__, #call, " failed: ", cudaGetErrorName(sinklab_err_), \
                                     " (", cudaGetErrorString(sinklab_err_), ")");                          \
  } while (0)

// Emulated builds (src/cuda/emu/) have no cuBLAS: their GEMM is a stand-in, so only the runtime checks exist there.
#if !defined(SINKLAB_CUDA_EMULATE)
#include <cublas_api.h>

namespace sinklab::backend::cuda::detail {
inline const char* cublas_status_name(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
    default: return "CUBLAS_STATUS_<unknown>";
  }
}
}  // namespace sinklab::backend::cuda::detail

#define SINKLAB_CUBLAS_CHECK(call)                                                                            \
  do {                                                                                                        \
    const cublasStatus_t sinklab_st_ = (call);                                                                \
    if (sinklab_st_ != CUBLAS_STATUS_SUCCESS)                                                                 \
      ::sinklab::detail::throw_error(__FILE__, __LINE__, #call, " failed: ",                                  \
                                     ::sinklab::backend::cuda::detail::cublas_status_name(sinklab_st_));      \
  } while (0)

#endif  // !SINKLAB_CUDA_EMULATE

// After a kernel launch: catches bad launch configurations at the call site (asynchronous faults surface later).
#define SINKLAB_CUDA_CHECK_LAUNCH() SINKLAB_CUDA_CHECK(cudaGetLastError())

namespace sinklab::backend::cuda {
// True when at least one CUDA device is visible; never throws (tests use it to skip).
inline bool device_available() {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();  // clear the sticky error from a missing driver
    return false;
  }
  return n > 0;
}
}  // namespace sinklab::backend::cuda
