// All-reduce latency and bandwidth between the ranks of `mpirun -np N`: MPI_Allreduce (the library's order), and
// the ordered reduce-scatter + all-gather that training uses (note [fixed reduction order], communicator.hpp),
// for message sizes from 4 bytes to --max-mib. Fits the α–β model t(n) = α + β·n by least squares over the sizes
// (docs/distributed.md uses it to project to more ranks). Rank 0 prints one row per size:
//   bytes  allreduce_us  allreduce_GB/s  ordered_us  ordered_GB/s
// GB/s is the bus bandwidth of a ring all-reduce, 2(N-1)/N · bytes / t, comparable across rank counts.
//   mpirun -np 2 bench_dist_allreduce [--max-mib 64] [--seconds 0.3]
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "sinklab/dist/mpi_communicator.hpp"

using namespace sinklab;

// Median seconds per call of `op` over repetitions filling about `budget` seconds (at least 5), all ranks in step.
template <class F>
static double time_op(dist::MpiCommunicator& comm, double budget, F&& op) {
  op();  // warm-up: buffers, connections
  std::vector<double> times;
  double spent = 0;
  while (times.size() < 5 || (spent < budget && times.size() < 2000)) {
    comm.barrier("bench");
    const auto t0 = std::chrono::steady_clock::now();
    op();
    double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    MPI_Allreduce(MPI_IN_PLACE, &t, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);  // the slowest rank's time
    times.push_back(t);
    spent += t;
  }
  std::nth_element(times.begin(), times.begin() + std::ptrdiff_t(times.size() / 2), times.end());
  return times[times.size() / 2];
}

int main(int argc, char** argv) {
  dist::MpiSession session(argc, argv);
  dist::MpiCommunicator comm;
  double max_mib = 64, budget = 0.3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--max-mib") max_mib = std::atof(argv[i + 1]);
    else if (a == "--seconds") budget = std::atof(argv[i + 1]);
  }
  const int n = comm.size();
  const double bus = n > 1 ? 2.0 * (n - 1) / n : 1.0;
  if (comm.rank() == 0)
    std::printf("# %d ranks; median of repetitions; GB/s = 2(N-1)/N * bytes / t\n"
                "%12s %14s %14s %14s %14s\n",
                n, "bytes", "allreduce_us", "allreduce_GB/s", "ordered_us", "ordered_GB/s");
  std::vector<double> xs, ya, yo;
  for (int64_t floats = 1; double(floats) * 4 <= max_mib * 1048576.0; floats *= 4) {
    const auto count = static_cast<std::size_t>(floats);
    std::vector<float> buf(count, 1.0f), full(count);
    const auto part = dist::Partition::even(floats, n);
    std::vector<float> acc(std::size_t(part.count(comm.rank())));
    const double ta = time_op(comm, budget, [&] { comm.all_reduce_sum(buf.data(), floats); });
    const double to = time_op(comm, budget, [&] {
      std::fill(acc.begin(), acc.end(), -0.0f);
      comm.reduce_scatter_ordered(buf.data(), acc.data(), part);
      comm.all_gather(acc.data(), full.data(), part);
    });
    const double bytes = double(floats) * 4;
    if (comm.rank() == 0)
      std::printf("%12.0f %14.2f %14.3f %14.2f %14.3f\n", bytes, ta * 1e6, bus * bytes / ta / 1e9, to * 1e6,
                  bus * bytes / to / 1e9);
    xs.push_back(bytes), ya.push_back(ta), yo.push_back(to);
  }
  // Least squares t = α + β·bytes, each size weighted by 1/t² (relative error), so small sizes fix α.
  auto fit = [&](const std::vector<double>& ys, const char* name) {
    double s = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (std::size_t i = 0; i < xs.size(); ++i) {
      const double w = 1.0 / (ys[i] * ys[i]);
      s += w, sx += w * xs[i], sy += w * ys[i], sxx += w * xs[i] * xs[i], sxy += w * xs[i] * ys[i];
    }
    const double beta = (s * sxy - sx * sy) / (s * sxx - sx * sx), alpha = (sy - beta * sx) / s;
    if (comm.rank() == 0)
      std::printf("# fit %-9s alpha = %.2f us, beta = %.4f ns/byte (%.2f GB/s per byte of message)\n", name,
                  alpha * 1e6, beta * 1e9, 1.0 / beta / 1e9);
  };
  fit(ya, "allreduce");
  fit(yo, "ordered");
  return 0;
}
