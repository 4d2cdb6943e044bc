#pragma once
// Shim: emulated builds get CUB's device/device_reduce from cub_emu.hpp (README.md in src/cuda/emu/).
#include "../../cub_emu.hpp"
