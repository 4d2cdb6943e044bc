#pragma once
// The Communicator over MPI (CPU ranks): every collective is a blocking MPI call on host memory, and the ordered
// reduce-scatter of note [fixed reduction order] is MPI_Alltoallv (each rank receives every rank's slice of its own
// shard) followed by a fold in rank order on the owner. Also here: the MPI lifetime of a process (MpiSession) and a
// watchdog that ends a rank stuck in a collective after a timeout, naming the collective, instead of hanging.
// Include only from targets linked to sinklab_mpi (it includes <mpi.h>).
#include <mpi.h>

#include <Eigen/Core>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "sinklab/core/error.hpp"
#include "sinklab/dist/communicator.hpp"

namespace sinklab::dist {

// True when a launcher started this process as one rank of a job: mpirun/mpiexec of Open MPI, MPICH or MVAPICH,
// or srun with PMI/PMIx. Without one, sinklab-pretrain never initialises MPI and runs exactly as a plain process.
inline bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMI_RANK", "PMIX_RANK", "MV2_COMM_WORLD_SIZE"})
    if (std::getenv(v)) return true;
  return false;
}

// MPI_Init_thread / MPI_Finalize for the life of main(). Only the main thread calls MPI (MPI_THREAD_FUNNELED).
class MpiSession {
 public:
  MpiSession(int& argc, char**& argv) {
    int provided = 0;
    SINKLAB_CHECK(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided) == MPI_SUCCESS,
                  "MPI_Init_thread failed");
  }
  ~MpiSession() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  // Ends every rank of the job now (a failure that the other ranks cannot know about).
  [[noreturn]] static void abort(int status) {
    MPI_Abort(MPI_COMM_WORLD, status);
    std::_Exit(status);
  }
};

class MpiCommunicator final : public Communicator {
 public:
  explicit MpiCommunicator(MPI_Comm comm = MPI_COMM_WORLD) : comm_(comm) {
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
    MPI_Comm node;
    MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node);
    MPI_Comm_size(node, &local_size_);
    MPI_Comm_free(&node);
  }

  // seconds > 0: a rank that waits longer than that in one collective prints which one and exits with status 124;
  // the launcher then ends the others (a peer died or diverged: waiting longer would hang the job). Set once.
  void set_timeout(double seconds) {
    if (seconds <= 0 || watchdog_.joinable()) return;
    timeout_s_ = seconds;
    watchdog_ = std::thread([this] { watch(); });
  }
  ~MpiCommunicator() override {
    stop_.store(true);
    if (watchdog_.joinable()) watchdog_.join();
  }
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_size() const override { return local_size_; }

  void barrier(const char* what) override {
    Watch w(*this, what);
    check(MPI_Barrier(comm_), what);
  }
  void broadcast(void* data, std::size_t bytes, int root, const char* what) override {
    Watch w(*this, what);
    check(MPI_Bcast(data, as_int(int64_t(bytes), what), MPI_BYTE, root, comm_), what);
  }
  std::vector<std::string> all_gather_bytes(std::string_view mine, const char* what) override {
    Watch w(*this, what);
    int n = as_int(int64_t(mine.size()), what);
    const auto ranks = static_cast<std::size_t>(size_);
    std::vector<int> sizes(ranks), displs(ranks);
    check(MPI_Allgather(&n, 1, MPI_INT, sizes.data(), 1, MPI_INT, comm_), what);
    int64_t total = 0;
    for (int q = 0; q < size_; ++q) displs[std::size_t(q)] = as_int(total, what), total += sizes[std::size_t(q)];
    std::string all(std::size_t(total), '\0');
    check(MPI_Allgatherv(mine.data(), n, MPI_BYTE, all.data(), sizes.data(), displs.data(), MPI_BYTE, comm_), what);
    std::vector<std::string> out;
    for (int q = 0; q < size_; ++q)
      out.push_back(all.substr(std::size_t(displs[std::size_t(q)]), std::size_t(sizes[std::size_t(q)])));
    return out;
  }
  void all_reduce_max(std::span<int64_t> values, const char* what) override {
    Watch w(*this, what);
    check(MPI_Allreduce(MPI_IN_PLACE, values.data(), as_int(int64_t(values.size()), what), MPI_INT64_T, MPI_MAX, comm_),
          what);
  }

  void reduce_scatter_ordered(const float* in, float* acc, const Partition& p) override {
    constexpr const char* what = "reduce_scatter_ordered (gradients)";
    Watch w(*this, what);
    const int64_t mine = p.count(rank_);
    staging_.resize(std::size_t(mine * size_));
    const auto ranks = static_cast<std::size_t>(size_);
    std::vector<int> send_counts(ranks), send_displs(ranks), recv_counts(ranks), recv_displs(ranks);
    for (int q = 0; q < size_; ++q) {
      send_counts[std::size_t(q)] = as_int(p.count(q), what);
      send_displs[std::size_t(q)] = as_int(p.offset(q), what);
      recv_counts[std::size_t(q)] = as_int(mine, what);
      recv_displs[std::size_t(q)] = as_int(mine * q, what);
    }
    check(MPI_Alltoallv(in, send_counts.data(), send_displs.data(), MPI_FLOAT, staging_.data(), recv_counts.data(),
                        recv_displs.data(), MPI_FLOAT, comm_),
          what);
    // The fold: element by element, rank 0's term first. Chunks only split the work across threads.
    constexpr int64_t chunk = int64_t(1) << 14;
    const int64_t chunks = (mine + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) if (chunks > 1)
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t k0 = c * chunk, len = std::min(chunk, mine - k0);
      Eigen::Map<Eigen::ArrayXf> a(acc + k0, len);
      for (int q = 0; q < size_; ++q) a += Eigen::Map<const Eigen::ArrayXf>(staging_.data() + mine * q + k0, len);
    }
  }
  void all_gather(const float* shard, float* full, const Partition& p) override {
    constexpr const char* what = "all_gather";
    Watch w(*this, what);
    std::vector<int> counts, displs;
    layout(p, counts, displs, what);
    const bool in_place = shard == full + p.offset(rank_);
    check(MPI_Allgatherv(in_place ? MPI_IN_PLACE : shard, counts[std::size_t(rank_)], MPI_FLOAT, full, counts.data(),
                         displs.data(), MPI_FLOAT, comm_),
          what);
  }
  void gather(const float* shard, float* full, const Partition& p, int root) override {
    constexpr const char* what = "gather";
    Watch w(*this, what);
    std::vector<int> counts, displs;
    layout(p, counts, displs, what);
    const bool in_place = rank_ == root && shard == full + p.offset(rank_);
    check(MPI_Gatherv(in_place ? MPI_IN_PLACE : shard, counts[std::size_t(rank_)], MPI_FLOAT, full, counts.data(),
                      displs.data(), MPI_FLOAT, root, comm_),
          what);
  }
  void scatter(const float* full, float* shard, const Partition& p, int root) override {
    constexpr const char* what = "scatter";
    Watch w(*this, what);
    std::vector<int> counts, displs;
    layout(p, counts, displs, what);
    check(MPI_Scatterv(full, counts.data(), displs.data(), MPI_FLOAT, shard, counts[std::size_t(rank_)], MPI_FLOAT, root,
                       comm_),
          what);
  }
  void broadcast_floats(float* data, int64_t n, int root) override {
    constexpr const char* what = "broadcast (floats)";
    Watch w(*this, what);
    check(MPI_Bcast(data, as_int(n, what), MPI_FLOAT, root, comm_), what);
  }
  void all_reduce_sum(float* data, int64_t n) override {
    constexpr const char* what = "all_reduce_sum";
    Watch w(*this, what);
    check(MPI_Allreduce(MPI_IN_PLACE, data, as_int(n, what), MPI_FLOAT, MPI_SUM, comm_), what);
  }

 private:
  // MPI counts are int: a buffer of 2^31 floats or more needs bucketing, which this version does not do.
  static int as_int(int64_t n, const char* what) {
    SINKLAB_CHECK(n >= 0 && n <= INT_MAX, what, ": ", n, " elements exceed MPI's int count (", INT_MAX, ")");
    return int(n);
  }
  void check(int rc, const char* what) const {
    if (rc == MPI_SUCCESS) return;
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    SINKLAB_FAIL("rank ", rank_, ": MPI error in ", what, ": ", std::string(msg, std::size_t(len)));
  }
  void layout(const Partition& p, std::vector<int>& counts, std::vector<int>& displs, const char* what) const {
    SINKLAB_CHECK(p.ranks() == size_, what, ": a partition over ", p.ranks(), " ranks on a communicator of ", size_);
    for (int q = 0; q < size_; ++q) counts.push_back(as_int(p.count(q), what)), displs.push_back(as_int(p.offset(q), what));
  }

  // The collective this rank is waiting in, for the watchdog.
  struct Watch {
    Watch(MpiCommunicator& c, const char* what) : c_(c) {
      c_.since_.store(std::chrono::steady_clock::now().time_since_epoch().count());  // before the name: see watch()
      c_.waiting_in_.store(what);
    }
    ~Watch() { c_.waiting_in_.store(nullptr); }
    MpiCommunicator& c_;
  };
  void watch() {
    using clock = std::chrono::steady_clock;
    while (!stop_.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      const auto since = since_.load();
      const char* what = waiting_in_.load();
      if (!what || since_.load() != since) continue;  // between two collectives: look again next time
      const double waited =
          std::chrono::duration<double>(clock::now().time_since_epoch() - clock::duration(since)).count();
      if (waited > timeout_s_ && waiting_in_.load() == what && since_.load() == since) {
        std::fprintf(stderr,
                     "sinklab: rank %d: waited %.0f s in the collective '%s' (timeout %.0f s): another rank is stuck, "
                     "gone, or running a different program; ending this rank\n",
                     rank_, waited, what, timeout_s_);
        std::fflush(stderr);
        std::_Exit(124);
      }
    }
  }

  MPI_Comm comm_;
  int rank_ = 0, size_ = 1, local_size_ = 1;
  double timeout_s_ = 0;
  std::vector<float> staging_;  // size × this rank's shard: every rank's slice of it (reduce_scatter_ordered)
  std::atomic<const char*> waiting_in_{nullptr};
  std::atomic<std::chrono::steady_clock::rep> since_{0};
  std::atomic<bool> stop_{false};
  std::thread watchdog_;
};

}  // namespace sinklab::dist
