#pragma once
// The launch-configuration limits of CUDA devices of compute capability 9.0 (CUDA C++ Programming Guide,
// "Features and Technical Specifications"): grid x ≤ 2³¹ − 1, grid y and z ≤ 65535, block x and y ≤ 1024, block
// z ≤ 64, at most 1024 threads per block, and at most 227 KB of dynamic shared memory per block once the kernel
// opts in (cudaFuncAttributeMaxDynamicSharedMemorySize). A launch past any of them fails on the device.
//
// Plain C++, for two callers: the CPU emulator (src/cuda/emu/cuda_emu.hpp) checks every emulated launch,
// so CI catches a launch a device would refuse, and fused_cuda.cuh's device launcher checks before launching, for
// an error that names the axis rather than cudaErrorInvalidConfiguration.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

namespace sinklab::backend::cuda {

inline constexpr std::uint64_t kMaxGridX = 2147483647;  // 2³¹ − 1
inline constexpr std::uint64_t kMaxGridYZ = 65535;
inline constexpr std::uint64_t kMaxBlockXY = 1024, kMaxBlockZ = 64, kMaxBlockThreads = 1024;
inline constexpr std::size_t kMaxDynamicSmemOptIn = 227 * 1024;  // sm_90: 232448 bytes

// Empty when grid × block with `smem` bytes of dynamic shared memory fits, else a sentence naming the limit it
// breaks. Dim3 is CUDA's dim3 or the emulator's (members x, y, z). A grid with a zero extent launches nothing and
// is the caller's to skip.
template <class Dim3>
bool launch_fits(const Dim3& grid, const Dim3& block, std::size_t smem) {
  const std::uint64_t threads = std::uint64_t(block.x) * block.y * block.z;
  return grid.x <= kMaxGridX && grid.y <= kMaxGridYZ && grid.z <= kMaxGridYZ && threads > 0 &&
         block.x <= kMaxBlockXY && block.y <= kMaxBlockXY && block.z <= kMaxBlockZ && threads <= kMaxBlockThreads &&
         smem <= kMaxDynamicSmemOptIn;
}

template <class Dim3>
std::string launch_limit_violation(const Dim3& grid, const Dim3& block, std::size_t smem) {
  if (launch_fits(grid, block, smem)) return {};  // every launch asks: no stream is built for the common case
  std::ostringstream why;
  const std::uint64_t threads = std::uint64_t(block.x) * block.y * block.z;
  if (grid.x > kMaxGridX) why << "gridDim.x = " << grid.x << " > " << kMaxGridX;
  else if (grid.y > kMaxGridYZ) why << "gridDim.y = " << grid.y << " > " << kMaxGridYZ;
  else if (grid.z > kMaxGridYZ) why << "gridDim.z = " << grid.z << " > " << kMaxGridYZ;
  else if (block.x == 0 || block.y == 0 || block.z == 0)
    why << "blockDim (" << block.x << ", " << block.y << ", " << block.z << ") has a zero extent";
  else if (block.x > kMaxBlockXY || block.y > kMaxBlockXY || block.z > kMaxBlockZ)
    why << "blockDim (" << block.x << ", " << block.y << ", " << block.z << ") past (" << kMaxBlockXY << ", "
        << kMaxBlockXY << ", " << kMaxBlockZ << ")";
  else if (threads > kMaxBlockThreads)
    why << threads << " threads per block > " << kMaxBlockThreads;
  else if (smem > kMaxDynamicSmemOptIn)
    why << smem << " bytes of dynamic shared memory > the " << kMaxDynamicSmemOptIn << " a block can opt in to";
  return why.str();
}

}  // namespace sinklab::backend::cuda
