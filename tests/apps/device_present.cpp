// Exit status 0 when a CUDA device is visible, 1 otherwise (printing why): GPU-labelled shell tests skip with it.
#include <cstdio>

#include "sinklab/backend/cuda/check.cuh"

int main() {
  if (sinklab::backend::cuda::device_available()) return 0;
  std::printf("skipped: no CUDA device\n");
  return 1;
}
