#pragma once
// Device tags. A Tensor's storage, kernels and copies are chosen by its Device at compile time.
namespace sinklab {
struct Cpu {
  static constexpr const char* name = "cpu";
};
struct Cuda {
  static constexpr const char* name = "cuda";
};
}  // namespace sinklab
