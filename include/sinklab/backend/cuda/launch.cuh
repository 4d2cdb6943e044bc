#pragma once
// launch_kernel: the one way the backend starts a kernel, on a device and in the emulator (src/cuda/emu/).
//   launch_kernel(unary_kernel<T, F>, grid, block, smem_bytes, stream, args...);
// On a device it checks the geometry against the device's limits first (an error that names the axis, not a
// launch that silently does nothing), raises the kernel's dynamic shared-memory cap when it asks for more than the
// default 48 KiB, launches, and checks the launch. In an emulated build the same call runs the grid on the CPU.
// A grid with a zero extent launches nothing.
#include <cuda_runtime.h>

#include <cstddef>
#include <string>
#include <utility>

#include "sinklab/backend/cuda/check.cuh"
#include "sinklab/backend/cuda/launch_limits.hpp"

namespace sinklab::backend::cuda {

template <class... P, class... A>
void launch_kernel(void (*kern)(P...), dim3 grid, dim3 block, std::size_t smem, cudaStream_t stream, A&&... args) {
#if defined(SINKLAB_CUDA_EMULATE)
  ::sinklab_emu::launch(kern, grid, block, smem, stream, std::forward<A>(args)...);
#else
  if (grid.x == 0 || grid.y == 0 || grid.z == 0) return;
  const std::string why = launch_limit_violation(grid, block, smem);  // as the emulator checks
  SINKLAB_CHECK(why.empty(), "cuda: a kernel launch past the device's limits: ", why);
  if (smem > 48 * 1024)
    SINKLAB_CUDA_CHECK(cudaFuncSetAttribute(kern, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
  kern<<<grid, block, smem, stream>>>(std::forward<A>(args)...);
  SINKLAB_CUDA_CHECK_LAUNCH();
#endif
}

}  // namespace sinklab::backend::cuda
