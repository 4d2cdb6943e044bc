#pragma once
// What data-parallel training needs from a group of processes, whatever moves the bytes: MPI between CPU ranks
// (mpi_communicator.hpp), NCCL between GPUs (nccl_communicator.cuh, bootstrapped over MPI). Two planes:
//   control: small host-memory messages (configs, flags, losses, norms' partial sums, error text);
//   data:    float buffers in the communicator's own memory (host for MPI, device for NCCL): gradients, weights,
//            optimiser moments.
// Every rank calls the same collectives in the same order; `what` names the call in errors and timeouts.
//
// Note [fixed reduction order]: floating-point addition is not associative, and MPI_Allreduce / ncclAllReduce leave
// the order of their sums unspecified (it changes with the rank count, the algorithm and the message size). Training
// reduces gradients only through reduce_scatter_ordered, which folds the ranks' contributions one at a time in
// rank order into an accumulator: acc = ((acc + g_0) + g_1) + ... + g_{N-1}, elementwise. That is exactly how a
// single process accumulates N micro-batches, so N ranks reproduce one process bit for bit (trainer.hpp). The
// accumulator starts at -0.0, the exact identity of IEEE addition (-0 + x = x for every x, +0 and -0 included), so
// "no gradient yet" needs no special case, and a rank with no gradient for a parameter sends -0.0 too.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sinklab/core/error.hpp"

namespace sinklab::dist {

// Ranks own consecutive ranges of a flat buffer: rank r owns [begin[r], begin[r + 1]).
struct Partition {
  std::vector<int64_t> begin;  // ranks + 1 entries: 0 = begin[0] <= begin[1] <= ... <= begin[ranks] = total

  int ranks() const { return int(begin.size()) - 1; }
  int64_t total() const { return begin.back(); }
  int64_t offset(int r) const { return begin[std::size_t(r)]; }
  int64_t count(int r) const { return begin[std::size_t(r) + 1] - begin[std::size_t(r)]; }

  // n elements split as evenly as whole elements allow.
  static Partition even(int64_t n, int ranks) {
    Partition p;
    for (int r = 0; r <= ranks; ++r) p.begin.push_back(n * r / ranks);
    return p;
  }
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual int local_size() const = 0;  // ranks on this node: they share its cores

  // --- control plane: host memory ---
  virtual void barrier(const char* what) = 0;
  virtual void broadcast(void* data, std::size_t bytes, int root, const char* what) = 0;
  // Every rank's `mine`, in rank order (the sizes may differ).
  virtual std::vector<std::string> all_gather_bytes(std::string_view mine, const char* what) = 0;
  // Elementwise maximum over the ranks, in place.
  virtual void all_reduce_max(std::span<int64_t> values, const char* what) = 0;

  // --- data plane: floats in the communicator's memory ---
  // Note [fixed reduction order]: acc[i] = (((acc[i] + in_0[j]) + in_1[j]) + ... + in_{N-1}[j]), j = p.offset(me) + i,
  // where in_q is rank q's `in` (p.total() floats) and acc this rank's shard (p.count(me) floats).
  virtual void reduce_scatter_ordered(const float* in, float* acc, const Partition& p) = 0;
  // full[p.offset(q) + i] = rank q's shard[i]. `shard` may point into `full` at this rank's own offset.
  virtual void all_gather(const float* shard, float* full, const Partition& p) = 0;
  // As all_gather, but only `root` receives (full is read only there).
  virtual void gather(const float* shard, float* full, const Partition& p, int root) = 0;
  // shard = root's full[p.offset(me) .. + p.count(me)).
  virtual void scatter(const float* full, float* shard, const Partition& p, int root) = 0;
  virtual void broadcast_floats(float* data, int64_t n, int root) = 0;
  // The library's own all-reduce (sum): fast, but its order is unspecified (not bit-reproducible across rank counts
  // or algorithms). Benchmarks only; training uses reduce_scatter_ordered.
  virtual void all_reduce_sum(float* data, int64_t n) = 0;

  // --- typed helpers on the control plane ---
  template <class T>
  void broadcast_value(T& v, int root, const char* what) {
    broadcast(&v, sizeof(T), root, what);
  }
  void broadcast_string(std::string& s, int root, const char* what) {
    uint64_t n = s.size();
    broadcast_value(n, root, what);
    s.resize(std::size_t(n));
    if (n > 0) broadcast(s.data(), std::size_t(n), root, what);
  }
  bool any(bool flag, const char* what) {
    int64_t v = flag ? 1 : 0;
    all_reduce_max(std::span<int64_t>(&v, 1), what);
    return v != 0;
  }
  // Every rank's values (the same count on each), rank-major.
  template <class T>
  std::vector<T> all_gather_values(std::span<const T> mine, const char* what) {
    const auto parts = all_gather_bytes(std::string_view(reinterpret_cast<const char*>(mine.data()), mine.size_bytes()),
                                        what);
    std::vector<T> out;
    for (const auto& p : parts) {
      SINKLAB_CHECK(p.size() == mine.size_bytes(), what, ": ranks sent ", p.size(), " and ", mine.size_bytes(),
                    " bytes; the ranks disagree on the layout");
      const T* v = reinterpret_cast<const T*>(p.data());
      out.insert(out.end(), v, v + mine.size());
    }
    return out;
  }
};

// A failure every rank knows about (agree() below): each rank can end cleanly instead of waiting on a collective
// that the failed rank will never join.
class AgreedError : public Error {
 public:
  explicit AgreedError(const std::string& what) : Error(what) {}
};

// Runs `stage` on this rank, then tells every rank whether it failed anywhere. When it failed on some rank, every
// rank throws AgreedError with the lowest failing rank's message (prefixed "rank q: " on the others). `stage` must
// not call collectives itself: a rank that throws half-way would leave the others waiting.
template <class F>
void agree(Communicator& comm, const char* what, F&& stage) {
  std::string error;
  try {
    stage();
  } catch (const std::exception& e) {
    error = e.what();
    if (error.empty()) error = "unknown error";
  }
  const auto all = comm.all_gather_bytes(error, what);
  for (int q = 0; q < int(all.size()); ++q) {
    if (all[std::size_t(q)].empty()) continue;
    if (q == comm.rank()) throw AgreedError(error);
    throw AgreedError("rank " + std::to_string(q) + ": " + all[std::size_t(q)]);
  }
}

}  // namespace sinklab::dist
