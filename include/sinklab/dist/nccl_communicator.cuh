#pragma once
// The Communicator over NCCL (GPU ranks, one device each), as llm.c sets it up: MPI starts the processes, rank 0
// creates the NCCL unique id and MPI_Bcast hands it to the others, and from then on every float collective runs on
// device buffers through NCCL on one stream. The control plane (configs, flags, norms' partial sums) stays on MPI.
//
// reduce_scatter_ordered keeps note [fixed reduction order] (communicator.hpp): grouped ncclSend/ncclRecv bring
// every rank's slice of this rank's shard into a staging buffer, and one kernel folds them into the accumulator in
// rank order, so a GPU run sums gradients exactly as a CPU run or one process does. ncclReduceScatter would be
// faster (its sum runs inside the ring, in an order of NCCL's choosing) and is exposed for benchmarks and for
// callers who accept that: reduce_scatter_sum.
// Only .cu files include this (it needs nvcc, CUDA and NCCL); every call is synchronous with respect to the host:
// it returns once the stream has finished, so the Communicator's blocking contract holds.
#include <cuda_runtime.h>
#include <nccl.h>

#include <algorithm>
#include <string>
#include <vector>

#include "sinklab/backend/cuda/check.cuh"
#include "sinklab/dist/communicator.hpp"
#include "sinklab/dist/mpi_communicator.hpp"

#define SINKLAB_NCCL_CHECK(call)                                                                                 \
  do {                                                                                                           \
    const ncclResult_t sinklab_nccl_ = (call);                                                                   \
    if (sinklab_nccl_ != ncclSuccess)                                                                            \
      ::sinklab::detail::throw_error(__FILE__, __LINE__, #call, " failed: ", ncclGetErrorString(sinklab_nccl_)); \
  } while (0)

namespace sinklab::dist {

namespace detail {
// acc[i] += staging[q * n + i] for q = 0, 1, ..., ranks - 1 in that order: one thread per element, so the order
// of the additions is fixed whatever the launch shape.
static __global__ void fold_in_rank_order(float* acc, const float* staging, int64_t n, int ranks) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    float a = acc[i];
    for (int q = 0; q < ranks; ++q) a = __fadd_rn(a, staging[int64_t(q) * n + i]);  // no contraction, no reordering
    acc[i] = a;
  }
}
}  // namespace detail

class NcclCommunicator final : public Communicator {
 public:
  // Collective over `mpi`'s ranks; each rank uses CUDA device `device`.
  NcclCommunicator(MpiCommunicator& mpi, int device) : mpi_(mpi), device_(device) {
    SINKLAB_CUDA_CHECK(cudaSetDevice(device_));
    ncclUniqueId id{};
    if (mpi_.rank() == 0) SINKLAB_NCCL_CHECK(ncclGetUniqueId(&id));
    mpi_.broadcast(&id, sizeof id, 0, "NCCL unique id");
    SINKLAB_NCCL_CHECK(ncclCommInitRank(&comm_, mpi_.size(), id, mpi_.rank()));
    SINKLAB_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  }
  ~NcclCommunicator() override {
    if (staging_) cudaFree(staging_);
    if (stream_) cudaStreamDestroy(stream_);
    if (comm_) ncclCommDestroy(comm_);
  }
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  cudaStream_t stream() const { return stream_; }
  int device() const { return device_; }

  int rank() const override { return mpi_.rank(); }
  int size() const override { return mpi_.size(); }
  int local_size() const override { return mpi_.local_size(); }

  // Control plane: MPI, host memory.
  void barrier(const char* what) override { mpi_.barrier(what); }
  void broadcast(void* data, std::size_t bytes, int root, const char* what) override {
    mpi_.broadcast(data, bytes, root, what);
  }
  std::vector<std::string> all_gather_bytes(std::string_view mine, const char* what) override {
    return mpi_.all_gather_bytes(mine, what);
  }
  void all_reduce_max(std::span<int64_t> values, const char* what) override { mpi_.all_reduce_max(values, what); }

  // Data plane: device buffers.
  void reduce_scatter_ordered(const float* in, float* acc, const Partition& p) override {
    check_partition(p);
    const int me = rank(), n = size();
    const int64_t mine = p.count(me);
    reserve_staging(mine * n);
    SINKLAB_NCCL_CHECK(ncclGroupStart());
    for (int q = 0; q < n; ++q) {
      if (p.count(q) > 0) SINKLAB_NCCL_CHECK(ncclSend(in + p.offset(q), std::size_t(p.count(q)), ncclFloat, q, comm_, stream_));
      if (mine > 0) SINKLAB_NCCL_CHECK(ncclRecv(staging_ + mine * q, std::size_t(mine), ncclFloat, q, comm_, stream_));
    }
    SINKLAB_NCCL_CHECK(ncclGroupEnd());
    if (mine > 0) {
      const int threads = 256;
      const int blocks = int(std::min<int64_t>((mine + threads - 1) / threads, 65535));
      detail::fold_in_rank_order<<<blocks, threads, 0, stream_>>>(acc, staging_, mine, n);
      SINKLAB_CUDA_CHECK_LAUNCH();
    }
    sync();
  }
  // Shards of different sizes: one broadcast per rank, grouped (NCCL's all-gather needs equal counts).
  void all_gather(const float* shard, float* full, const Partition& p) override {
    check_partition(p);
    SINKLAB_NCCL_CHECK(ncclGroupStart());
    for (int q = 0; q < size(); ++q)
      if (p.count(q) > 0)
        SINKLAB_NCCL_CHECK(ncclBroadcast(q == rank() ? shard : full + p.offset(q), full + p.offset(q),
                                         std::size_t(p.count(q)), ncclFloat, q, comm_, stream_));
    SINKLAB_NCCL_CHECK(ncclGroupEnd());
    sync();
  }
  void gather(const float* shard, float* full, const Partition& p, int root) override {
    check_partition(p);
    const int me = rank();
    SINKLAB_NCCL_CHECK(ncclGroupStart());
    if (me == root) {
      for (int q = 0; q < size(); ++q) {
        if (p.count(q) == 0) continue;
        if (q == root)
          SINKLAB_CUDA_CHECK(cudaMemcpyAsync(full + p.offset(q), shard, std::size_t(p.count(q)) * sizeof(float),
                                             cudaMemcpyDeviceToDevice, stream_));
        else
          SINKLAB_NCCL_CHECK(ncclRecv(full + p.offset(q), std::size_t(p.count(q)), ncclFloat, q, comm_, stream_));
      }
    } else if (p.count(me) > 0) {
      SINKLAB_NCCL_CHECK(ncclSend(shard, std::size_t(p.count(me)), ncclFloat, root, comm_, stream_));
    }
    SINKLAB_NCCL_CHECK(ncclGroupEnd());
    sync();
  }
  void scatter(const float* full, float* shard, const Partition& p, int root) override {
    check_partition(p);
    const int me = rank();
    SINKLAB_NCCL_CHECK(ncclGroupStart());
    if (me == root) {
      for (int q = 0; q < size(); ++q) {
        if (p.count(q) == 0) continue;
        if (q == root)
          SINKLAB_CUDA_CHECK(cudaMemcpyAsync(shard, full + p.offset(q), std::size_t(p.count(q)) * sizeof(float),
                                             cudaMemcpyDeviceToDevice, stream_));
        else
          SINKLAB_NCCL_CHECK(ncclSend(full + p.offset(q), std::size_t(p.count(q)), ncclFloat, q, comm_, stream_));
      }
    } else if (p.count(me) > 0) {
      SINKLAB_NCCL_CHECK(ncclRecv(shard, std::size_t(p.count(me)), ncclFloat, root, comm_, stream_));
    }
    SINKLAB_NCCL_CHECK(ncclGroupEnd());
    sync();
  }
  void broadcast_floats(float* data, int64_t n, int root) override {
    SINKLAB_NCCL_CHECK(ncclBroadcast(data, data, std::size_t(n), ncclFloat, root, comm_, stream_));
    sync();
  }
  void all_reduce_sum(float* data, int64_t n) override {
    SINKLAB_NCCL_CHECK(ncclAllReduce(data, data, std::size_t(n), ncclFloat, ncclSum, comm_, stream_));
    sync();
  }
  // NCCL's own reduce-scatter: out (n floats) = Σ over ranks of in[rank·n .. (rank+1)·n), in NCCL's order.
  void reduce_scatter_sum(const float* in, float* out, int64_t n) {
    SINKLAB_NCCL_CHECK(ncclReduceScatter(in, out, std::size_t(n), ncclFloat, ncclSum, comm_, stream_));
    sync();
  }

 private:
  void sync() { SINKLAB_CUDA_CHECK(cudaStreamSynchronize(stream_)); }
  void check_partition(const Partition& p) const {
    SINKLAB_CHECK(p.ranks() == size(), "NCCL collective: a partition over ", p.ranks(), " ranks on a communicator of ",
                  size());
  }
  void reserve_staging(int64_t n) {
    if (n <= staging_size_) return;
    if (staging_) SINKLAB_CUDA_CHECK(cudaFree(staging_));
    staging_ = nullptr;
    SINKLAB_CUDA_CHECK(cudaMalloc(&staging_, std::size_t(n) * sizeof(float)));
    staging_size_ = n;
  }

  MpiCommunicator& mpi_;
  int device_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  float* staging_ = nullptr;  // size() × this rank's shard, on the device
  int64_t staging_size_ = 0;
};

}  // namespace sinklab::dist
