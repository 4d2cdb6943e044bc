#pragma once
// Shim: emulated builds (SINKLAB_CUDA_EMULATE) find this file instead of the toolkit's <cuda_runtime.h>, and get the
// emulator's runtime and kernel surface (README.md here).
#include "runtime_emu.hpp"
