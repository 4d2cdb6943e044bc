#pragma once
// The CUDA runtime calls our backend makes (memory, copies, streams, events, errors, device queries), on the host,
// for the emulator (cuda_emu.hpp runs the kernels). Reached through the shim <cuda_runtime.h> in this folder, which
// emulated targets put on their include path instead of the toolkit's (README.md here).
//
// One emulated device (number 0). Every call runs to completion before it returns, so streams and events order
// nothing and synchronising is a no-op: the emulator checks what kernels compute and how they are launched, not
// stream ordering. cudaMalloc'd memory starts as NaN bytes, as the emulator's scratch does, so reading what no
// kernel wrote shows.
#if !defined(SINKLAB_CUDA_EMULATE)
#error "runtime_emu.hpp is the CUDA runtime of emulated builds only (compile with -DSINKLAB_CUDA_EMULATE)"
#endif

#include <cstddef>
#include <cstring>

#include "cuda_emu.hpp"

enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidDevice = 101,
};
using cudaError = cudaError_t;
enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize = 8 };
constexpr unsigned cudaStreamDefault = 0, cudaStreamNonBlocking = 1;
constexpr unsigned cudaEventDefault = 0, cudaEventDisableTiming = 2;

// Handles are distinct heap objects, so code that keys tables by stream (the GEMM workspaces, the caching pool)
// sees distinct streams.
struct CUstream_st {
  int unused = 0;
};
struct CUevent_st {
  int unused = 0;
};
using cudaEvent_t = CUevent_st*;

namespace sinklab_emu {
inline cudaError_t& last_error() {
  static cudaError_t e = cudaSuccess;
  return e;
}
inline cudaError_t fail_with(cudaError_t e) { return last_error() = e; }
}  // namespace sinklab_emu

inline const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
  }
  return "cudaError<unknown>";
}
inline const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error (emulated device)";
    case cudaErrorInvalidValue: return "invalid argument (emulated device)";
    case cudaErrorMemoryAllocation: return "out of memory (emulated device)";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument (emulated device)";
    case cudaErrorInvalidDevice: return "invalid device ordinal (emulated device)";
  }
  return "unknown error (emulated device)";
}
inline cudaError_t cudaGetLastError() {
  const cudaError_t e = sinklab_emu::last_error();
  sinklab_emu::last_error() = cudaSuccess;
  return e;
}
inline cudaError_t cudaPeekAtLastError() { return sinklab_emu::last_error(); }

// --- the device ------------------------------------------------------------------------------------------------
inline cudaError_t cudaGetDeviceCount(int* n) {
  *n = 1;
  return cudaSuccess;
}
inline cudaError_t cudaGetDevice(int* d) {
  *d = 0;
  return cudaSuccess;
}
inline cudaError_t cudaSetDevice(int d) { return d == 0 ? cudaSuccess : sinklab_emu::fail_with(cudaErrorInvalidDevice); }
inline cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
template <class F>
cudaError_t cudaFuncSetAttribute(F*, cudaFuncAttribute, int) {
  return cudaSuccess;  // the launch itself is checked against the device's limits (launch_limits.hpp)
}

// --- memory ----------------------------------------------------------------------------------------------------
inline cudaError_t cudaMalloc(void** p, std::size_t bytes) {
  *p = sinklab_emu::dev_alloc(bytes, nullptr);
  return cudaSuccess;
}
template <class T>
cudaError_t cudaMalloc(T** p, std::size_t bytes) {
  return cudaMalloc(reinterpret_cast<void**>(p), bytes);
}
inline cudaError_t cudaFree(void* p) {
  sinklab_emu::dev_free(p);
  return cudaSuccess;
}
inline cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind) {
  if (bytes) std::memcpy(dst, src, bytes);
  return cudaSuccess;
}
inline cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind,
                                   cudaStream_t = nullptr) {
  return cudaMemcpy(dst, src, bytes, kind);
}
inline cudaError_t cudaMemset(void* p, int value, std::size_t bytes) {
  if (bytes) std::memset(p, value, bytes);
  return cudaSuccess;
}
inline cudaError_t cudaMemsetAsync(void* p, int value, std::size_t bytes, cudaStream_t = nullptr) {
  return cudaMemset(p, value, bytes);
}

// --- streams and events ----------------------------------------------------------------------------------------
inline cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) {
  *s = new CUstream_st();
  return cudaSuccess;
}
inline cudaError_t cudaStreamCreate(cudaStream_t* s) { return cudaStreamCreateWithFlags(s, cudaStreamDefault); }
inline cudaError_t cudaStreamDestroy(cudaStream_t s) {
  delete s;
  return cudaSuccess;
}
inline cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
inline cudaError_t cudaStreamWaitEvent(cudaStream_t, cudaEvent_t, unsigned = 0) { return cudaSuccess; }
inline cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned) {
  *e = new CUevent_st();
  return cudaSuccess;
}
inline cudaError_t cudaEventCreate(cudaEvent_t* e) { return cudaEventCreateWithFlags(e, cudaEventDefault); }
inline cudaError_t cudaEventRecord(cudaEvent_t, cudaStream_t = nullptr) { return cudaSuccess; }
inline cudaError_t cudaEventQuery(cudaEvent_t) { return cudaSuccess; }
inline cudaError_t cudaEventSynchronize(cudaEvent_t) { return cudaSuccess; }
inline cudaError_t cudaEventDestroy(cudaEvent_t e) {
  delete e;
  return cudaSuccess;
}
