// The MPI communicator and the data-parallel step on the ranks mpirun gives (CTest runs 2): the ordered
// reduce-scatter is the sequential fold bit for bit, the gathers move every byte, a failure on one rank reaches
// every rank, and DataParallel's gradient, norm and ZeRO-1 update equal one process's on the summed gradient.
// Prints "N passed, N failed" on rank 0 (every rank checks; the exit status is nonzero if any failed anywhere).
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "sinklab/core/rng.hpp"
#include "sinklab/dist/data_parallel.hpp"
#include "sinklab/dist/mpi_communicator.hpp"
#include "sinklab/dist/same_config.hpp"

using namespace sinklab;

static int passed = 0, failed = 0, my_rank = 0;
static void check(bool ok, const std::string& what) {
  if (my_rank == 0 || !ok) std::printf("%s  rank %d: %s\n", ok ? "ok  " : "FAIL", my_rank, what.c_str());
  (ok ? passed : failed)++;
}
static bool same_bits(const float* a, const float* b, int64_t n) { return std::memcmp(a, b, std::size_t(n) * 4) == 0; }

// Rank q's value at i: products that round, so that another order of the sum would change bits.
static float value(int q, int64_t i) { return float(0.1 * (q + 1)) * float(i % 97 + 1) / 3.0f; }

static void collectives(dist::MpiCommunicator& comm) {
  const int n = comm.size(), me = comm.rank();
  const dist::Partition part{{0, 7, 7, 1000}};  // uneven, with an empty shard when n = 3
  const auto p = n == 3 ? part : dist::Partition::even(1003, n);
  std::vector<float> in(std::size_t(p.total()));
  for (int64_t i = 0; i < p.total(); ++i) in[std::size_t(i)] = value(me, i);
  std::vector<float> acc(std::size_t(p.count(me)), -0.0f);
  comm.reduce_scatter_ordered(in.data(), acc.data(), p);
  comm.reduce_scatter_ordered(in.data(), acc.data(), p);  // a second round folds on top, as grad_accum does
  std::vector<float> want(acc.size(), -0.0f);
  for (int round = 0; round < 2; ++round)
    for (int q = 0; q < n; ++q)
      for (std::size_t i = 0; i < want.size(); ++i) want[i] += value(q, p.offset(me) + int64_t(i));
  check(same_bits(acc.data(), want.data(), int64_t(acc.size())), "reduce_scatter_ordered = the fold in rank order");

  std::vector<float> zeros(std::size_t(p.total()), -0.0f), z(std::size_t(p.count(me)), -0.0f);
  comm.reduce_scatter_ordered(zeros.data(), z.data(), p);
  check(z.empty() || std::signbit(z[0]), "-0.0 is the fold's identity: nothing but -0.0 gives -0.0");

  std::vector<float> full(std::size_t(p.total()), 0.0f);
  comm.all_gather(acc.data(), full.data(), p);
  bool ok = true;
  for (int q = 0; q < n; ++q)
    for (int64_t i = 0; i < p.count(q); ++i) {
      float w = -0.0f;
      for (int round = 0; round < 2; ++round)
        for (int r = 0; r < n; ++r) w += value(r, p.offset(q) + i);
      ok = ok && std::memcmp(&w, &full[std::size_t(p.offset(q) + i)], 4) == 0;
    }
  check(ok, "all_gather puts every shard in place");

  std::vector<float> back(std::size_t(p.count(me)));
  comm.scatter(full.data(), back.data(), p, 0);
  check(same_bits(back.data(), acc.data(), int64_t(back.size())), "scatter from rank 0 gives each rank its shard");
  std::vector<float> gathered(me == 0 ? std::size_t(p.total()) : 0);
  comm.gather(back.data(), gathered.data(), p, 0);
  if (me == 0) check(same_bits(gathered.data(), full.data(), p.total()), "gather to rank 0 rebuilds the buffer");

  const auto words = comm.all_gather_bytes(std::string(std::size_t(me) + 1, char('a' + me)), "words");
  ok = int(words.size()) == n;
  for (int q = 0; ok && q < n; ++q) ok = words[std::size_t(q)] == std::string(std::size_t(q) + 1, char('a' + q));
  check(ok, "all_gather_bytes: messages of different sizes, in rank order");
  check(comm.any(me == n - 1, "flag") && !comm.any(false, "flag"), "any(): one rank's flag reaches every rank");
}

static void agreement(dist::MpiCommunicator& comm) {
  std::string got;
  try {
    dist::agree(comm, "stage", [&] {
      if (comm.rank() == 1) throw Error("boom");
    });
  } catch (const dist::AgreedError& e) {
    got = e.what();
  }
  check(got == (comm.rank() == 1 ? "boom" : "rank 1: boom"), "agree(): a failure on rank 1 fails every rank");
  nlohmann::json cfg = {{"optim", {{"lr", 0.003}}}, {"run_dir", "x"}};
  if (comm.rank() == 1) cfg["optim"]["lr"] = 0.01;
  got.clear();
  try {
    dist::check_same_config(comm, cfg);
  } catch (const dist::AgreedError& e) {
    got = e.what();
  }
  check(got.find("optim.lr (0.003 on rank 0, 0.01 on rank 1)") != std::string::npos,
        "check_same_config names the key that differs: " + got);
}

// Parameters whose sizes cross kNormChunk boundaries, and one without a gradient.
static nn::ParamList<float> make_params() {
  nn::ParamList<float> ps;
  int k = 0;
  for (int64_t numel : {int64_t(70000), int64_t(33), int64_t(2 * optim::kNormChunk + 5), int64_t(5), int64_t(17)}) {
    ps.push_back({"p" + std::to_string(k), autograd::Var<float>(Tensor<float>::randn({numel}, 10 + k), true), k % 2 == 0});
    ++k;
  }
  return ps;
}
static void set_grads(nn::ParamList<float>& ps, int rank, int round) {
  for (std::size_t i = 0; i + 1 < ps.size(); ++i) {  // the last parameter never gets one
    ps[i].var.mutable_grad() = Tensor<float>::randn(ps[i].var.shape(), 1000 + 37 * rank + 7 * round + int(i));
    ps[i].var.mutable_grad().array() *= 0.01f;
  }
}

static void data_parallel(dist::MpiCommunicator& comm) {
  const optim::AdamWConfig cfg{0.9, 0.95, 1e-8, 0.1, true};
  const int rounds = 2, n = comm.size();
  // One process: the micro-batch gradients (rank r of round j = micro-batch jN + r) summed in order, clipped, AdamW.
  auto ref = make_params();
  std::vector<Tensor<float>> sum(ref.size());
  for (int j = 0; j < rounds; ++j)
    for (int r = 0; r < n; ++r) {
      set_grads(ref, r, j);
      for (std::size_t i = 0; i < ref.size(); ++i) {
        if (!ref[i].var.has_grad()) continue;
        if (!sum[i].defined()) sum[i] = ref[i].var.grad().clone();
        else sum[i].array() += ref[i].var.grad().array();
        ref[i].var.zero_grad();
      }
    }
  for (std::size_t i = 0; i < ref.size(); ++i)
    if (sum[i].defined()) ref[i].var.mutable_grad() = sum[i];
  const double ref_norm = optim::global_grad_norm(ref);
  optim::clip_grads_to(ref, ref_norm, 0.5);
  optim::AdamW<float> ref_opt(ref, cfg);
  ref_opt.step(1e-3);

  for (int zero : {0, 1}) {
    auto ps = make_params();
    dist::DataParallel dp(comm, ps, zero, cfg);
    optim::AdamW<float> opt(ps, cfg);
    dp.begin_step();
    for (int j = 0; j < rounds; ++j) {
      set_grads(ps, comm.rank(), j);
      dp.reduce_round();
    }
    dp.finish_reduction();
    const double norm = dp.grad_norm();
    const std::string z = "ZeRO-" + std::to_string(zero) + ": ";
    check(std::memcmp(&norm, &ref_norm, sizeof norm) == 0, z + "the gradient norm is one process's, bit for bit");
    check(dp.has_grad().back() == 0 && dp.has_grad().front() == 1, z + "a parameter without gradients stays so");
    check(dp.first_nonfinite_grad().empty(), z + "no non-finite gradient");
    if (zero == 1) {
      dp.sharded_step(1e-3, norm, 0.5);
    } else {
      optim::clip_grads_to(ps, norm, 0.5);
      opt.step(1e-3);
    }
    bool same = true;
    for (std::size_t i = 0; i < ps.size(); ++i)
      same = same && same_bits(ps[i].var.value().data(), ref[i].var.value().data(), ps[i].var.numel());
    check(same, z + "every weight after clipping and AdamW is one process's, bit for bit");
    if (zero == 1) {
      auto moments = dp.sharded_adamw()->gather_moments(ps, 0);
      if (comm.rank() == 0) {
        bool m_same = moments.has_value();
        for (std::size_t i = 0; m_same && i < ps.size(); ++i)
          m_same = same_bits(moments->first[i].data(), ref_opt.exp_avg()[i].data(), ps[i].var.numel()) &&
                   same_bits(moments->second[i].data(), ref_opt.exp_avg_sq()[i].data(), ps[i].var.numel());
        check(m_same, "ZeRO-1: the gathered moments are one process's AdamW moments");
      }
    }
  }
}

int main(int argc, char** argv) {
  dist::MpiSession session(argc, argv);
  dist::MpiCommunicator comm;
  comm.set_timeout(60);
  my_rank = comm.rank();
  if (comm.size() < 2) {
    std::printf("skipped: run under mpirun -np 2 or more\n");
    return 0;
  }
  try {
    collectives(comm);
    agreement(comm);
    data_parallel(comm);
  } catch (const std::exception& e) {
    check(false, std::string("exception: ") + e.what());
    dist::MpiSession::abort(1);
  }
  int64_t any_failed = failed;
  comm.all_reduce_max(std::span<int64_t>(&any_failed, 1), "result");
  if (my_rank == 0) std::printf("%d passed, %d failed\n", passed, failed);
  return any_failed ? 1 : 0;
}
