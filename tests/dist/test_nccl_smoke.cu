// The NCCL communicator on one rank (label gpu): MPI bootstraps the NCCL id, and every collective of the
// Communicator interface runs on device buffers with the results it promises, the ordered reduce-scatter's fold
// from -0.0 included. Skips (and passes) without a CUDA device. Under `mpirun -np N` it runs on N ranks, one
// device each (rank r uses device r mod the device count).
#include <cuda_runtime.h>
#include <mpi.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "sinklab/dist/nccl_communicator.cuh"

using namespace sinklab;

static int passed = 0, failed = 0;
static void check(bool ok, const char* what) {
  std::printf("%s  %s\n", ok ? "ok  " : "FAIL", what);
  (ok ? passed : failed)++;
}

static bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

int main(int argc, char** argv) {
  int devices = 0;
  const cudaError_t e = cudaGetDeviceCount(&devices);
  if (e != cudaSuccess || devices == 0) {
    std::printf("skipped: no CUDA device (%s)\n", e != cudaSuccess ? cudaGetErrorString(e) : "0 devices");
    return 0;
  }
  dist::MpiSession session(argc, argv);
  try {
    dist::MpiCommunicator mpi;
    dist::NcclCommunicator nccl(mpi, mpi.rank() % devices);
    const int n = nccl.size(), me = nccl.rank();
    const int64_t total = 1000;
    const auto part = dist::Partition::even(total, n);
    const int64_t mine = part.count(me);
    const auto elements = static_cast<std::size_t>(total);
    // Rank q contributes in_q[i] = (q + 1) · (i + 1) · 0.1f; the fold starts from -0.0.
    std::vector<float> in(elements);
    for (int64_t i = 0; i < total; ++i) in[std::size_t(i)] = float(me + 1) * float(i + 1) * 0.1f;
    float *d_in = nullptr, *d_acc = nullptr, *d_full = nullptr;
    SINKLAB_CUDA_CHECK(cudaMalloc(&d_in, total * sizeof(float)));
    SINKLAB_CUDA_CHECK(cudaMalloc(&d_full, total * sizeof(float)));
    SINKLAB_CUDA_CHECK(cudaMalloc(&d_acc, std::max<int64_t>(mine, 1) * sizeof(float)));
    SINKLAB_CUDA_CHECK(cudaMemcpy(d_in, in.data(), total * sizeof(float), cudaMemcpyHostToDevice));
    std::vector<float> acc(std::size_t(mine), -0.0f);
    SINKLAB_CUDA_CHECK(cudaMemcpy(d_acc, acc.data(), mine * sizeof(float), cudaMemcpyHostToDevice));
    nccl.reduce_scatter_ordered(d_in, d_acc, part);
    SINKLAB_CUDA_CHECK(cudaMemcpy(acc.data(), d_acc, mine * sizeof(float), cudaMemcpyDeviceToHost));
    bool ok = true;
    for (int64_t i = 0; i < mine; ++i) {
      const int64_t j = part.offset(me) + i;
      float want = -0.0f;
      for (int q = 0; q < n; ++q) want += float(q + 1) * float(j + 1) * 0.1f;  // rank order, as the kernel
      ok = ok && same_bits(acc[std::size_t(i)], want);
    }
    check(ok, "reduce_scatter_ordered: the fold in rank order, bit for bit");

    nccl.all_gather(d_acc, d_full, part);
    std::vector<float> full(elements);
    SINKLAB_CUDA_CHECK(cudaMemcpy(full.data(), d_full, total * sizeof(float), cudaMemcpyDeviceToHost));
    ok = true;
    for (int64_t j = 0; j < total; ++j) {
      float want = -0.0f;
      for (int q = 0; q < n; ++q) want += float(q + 1) * float(j + 1) * 0.1f;
      ok = ok && same_bits(full[std::size_t(j)], want);
    }
    check(ok, "all_gather: every rank's shard in place");

    SINKLAB_CUDA_CHECK(cudaMemset(d_acc, 0, std::max<int64_t>(mine, 1) * sizeof(float)));
    nccl.scatter(d_full, d_acc, part, 0);
    nccl.gather(d_acc, d_in, part, 0);
    if (me == 0) {
      std::vector<float> back(elements);
      SINKLAB_CUDA_CHECK(cudaMemcpy(back.data(), d_in, total * sizeof(float), cudaMemcpyDeviceToHost));
      check(std::memcmp(back.data(), full.data(), total * sizeof(float)) == 0, "scatter then gather: the same buffer");
    }

    std::vector<float> ones(elements, 1.0f);
    SINKLAB_CUDA_CHECK(cudaMemcpy(d_full, ones.data(), total * sizeof(float), cudaMemcpyHostToDevice));
    nccl.all_reduce_sum(d_full, total);
    SINKLAB_CUDA_CHECK(cudaMemcpy(full.data(), d_full, total * sizeof(float), cudaMemcpyDeviceToHost));
    check(full.front() == float(n) && full.back() == float(n), "all_reduce_sum: every element is the rank count");

    int64_t flag = me;
    nccl.all_reduce_max(std::span<int64_t>(&flag, 1), "max");
    check(flag == n - 1, "control plane over MPI: all_reduce_max");
    cudaFree(d_in);
    cudaFree(d_acc);
    cudaFree(d_full);
  } catch (const std::exception& ex) {
    std::printf("FAIL  %s\n", ex.what());
    ++failed;
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
