#pragma once
// Compilation-environment glue shared by every header: host/device annotations and inlining hints.

#if defined(__CUDACC__)
#define SINKLAB_HOST_DEVICE __host__ __device__
#define SINKLAB_DEVICE __device__
#else
#define SINKLAB_HOST_DEVICE
#define SINKLAB_DEVICE
#endif

#define SINKLAB_INLINE inline __attribute__((always_inline))
