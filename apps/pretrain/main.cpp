// sinklab-pretrain --config FILE [--set key=value ...] [--overwrite] | --resume RUN_DIR [--set key=value ...]
// LLaMA-style LM pretraining; every architectural, data and optimiser switch is a config key (--help lists them).
// Under mpirun (built with MPI) every rank runs this main: data parallel, docs/distributed.md.
// Exit status: 0 done, 2 error, 3 stopped on a NaN/Inf loss or gradient, 130 interrupted (checkpoint saved).
// Built against a CUDA backend (sinklab-pretrain-cuda; sinklab-pretrain-emulated in tests) it also trains with
// train.device = "cuda" (Note [trainer on a device] in train/trainer.hpp).
#include <csignal>
#include <regex>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sinklab/train/trainer.hpp"
#if defined(SINKLAB_HAVE_CUDA_BACKEND)
#include "sinklab/backend/cuda/tensor_ops.cuh"
#endif
#ifdef SINKLAB_HAVE_MPI
#include "sinklab/dist/mpi_communicator.hpp"
#endif

namespace fs = std::filesystem;
using namespace sinklab;

// Builds the trainer for device D (its config, data and model checked first), trains, and reports.
template <class D>
int train_on(const io::Json& cfg, train::StartMode mode, dist::Communicator* ranks, bool rank0) {
  train::TrainerT<D> trainer(cfg, mode, false, ranks);
  const auto& m = trainer.model();
  if (rank0) {
    std::cerr << "sinklab-pretrain: " << m.num_parameters() << " parameters, attention '" << m.config().attention
              << "', ";
    if (ranks)
      std::cerr << ranks->size() << " ranks x " << num_threads() << " threads, ZeRO-" << cfg["train"]["zero"].get<int>();
    else if constexpr (std::is_same_v<D, Cuda>)
      std::cerr << "device cuda";
    else
      std::cerr << num_threads() << " threads";
    std::cerr << ", run_dir " << cfg["run_dir"].get<std::string>() << "\n";
  }
  const auto r = trainer.run();
  if (!r.nonfinite.empty()) {
    if (rank0) std::cerr << "sinklab-pretrain: error: " << r.nonfinite << "\n";
    return 3;
  }
  if (rank0) {
    std::cerr << "sinklab-pretrain: step " << r.steps_done << ", loss " << r.last_loss;
    if (r.last_val_loss >= 0) std::cerr << ", val_loss " << r.last_val_loss;
    if (r.skipped_steps > 0) std::cerr << ", " << r.skipped_steps << " non-finite steps skipped";
    std::cerr << "\n";
  }
  return r.interrupted ? 130 : 0;
}

static void usage(std::ostream& os) {
  os << "usage: sinklab-pretrain --config FILE [--set key=value ...] [--overwrite]\n"
        "       sinklab-pretrain --resume RUN_DIR [--set key=value ...]\n"
        "       mpirun -np N sinklab-pretrain ...   (data parallel over N ranks; docs/distributed.md)\n"
        "       --threads N is --set train.threads=N (threads per rank)\n\n"
        "Trains a LLaMA-style LM on the CPU (train.device = \"cuda\": on a GPU, with sinklab-pretrain-cuda). A config is JSON; \"base\" names a config it extends. --set overrides one\n"
        "key (dotted path; the value is parsed as JSON when it parses, else taken as a string).\n\n"
        "A run directory belongs to one run: a second sinklab-pretrain on it fails at once, naming the first one's\n"
        "pid. --config starts a new run and refuses a directory that holds one (config.json, metrics.jsonl,\n"
        "checkpoints/ or final/) unless --overwrite is given; then the whole new config, its data and its model\n"
        "are checked first, the old run is moved to RUN_DIR/.replaced-<time>-<pid>/ just before the first step,\n"
        "and deleted once the new run has written its first checkpoint. --resume continues RUN_DIR with its\n"
        "config.json (--set changes keys of it; --config is not allowed with it) from the newest intact\n"
        "checkpoint, saying which were skipped and why; a run that never completed a checkpoint starts again from\n"
        "step 0. An interrupted run (Ctrl-C / SIGTERM) saves a checkpoint; --resume continues it exactly.\n"
        "A NaN/Inf loss or gradient norm stops the run without applying the step or writing a checkpoint, unless\n"
        "train.skip_nonfinite allows skipping it.\n\n"
        "exit status: 0 done, 2 error (nothing trained), 3 stopped on a NaN/Inf, 130 interrupted (checkpoint saved)\n\n"
        "keys (default):\n";
  const auto defaults = train::default_config();
  for (const auto& k : train::key_docs()) {
    const std::string key = k.key;
    auto ptr = nlohmann::json::json_pointer("/" + std::regex_replace(key, std::regex("\\."), "/"));
    os << "  " << key;
    if (defaults.contains(ptr)) os << " (" << defaults.at(ptr).dump() << ")";
    os << "\n      " << k.doc << "\n";
  }
}

int main(int argc, char** argv) {
#ifdef SINKLAB_HAVE_MPI
  // Only a process that a launcher started as a rank joins MPI; a plain run stays a plain process.
  std::optional<dist::MpiSession> mpi;
  std::unique_ptr<dist::MpiCommunicator> comm;
  if (dist::launched_by_mpi()) {
    mpi.emplace(argc, argv);
    comm = std::make_unique<dist::MpiCommunicator>();
  }
  dist::Communicator* ranks = comm && comm->size() > 1 ? comm.get() : nullptr;
#else
  dist::Communicator* ranks = nullptr;
#endif
  const bool rank0 = !ranks || ranks->rank() == 0;
  std::string config_file, resume_dir;
  std::vector<std::string> sets;
  bool overwrite = false;
  try {
    for (int i = 1; i < argc; ++i) {
      if (std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h") {
        if (rank0) usage(std::cout);
        return 0;
      }
    }
    io::Json cfg;
    // Every rank reads its own arguments and config; a rank that fails here fails them all (no rank waits alone).
    auto read_arguments = [&] {
      for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
          SINKLAB_CHECK(i + 1 < argc, "option ", a, " needs a value");
          return argv[++i];
        };
        if (a == "--config") {
          config_file = value();
        } else if (a == "--set") {
          sets.push_back(value());
        } else if (a == "--threads") {
          sets.push_back("train.threads=" + value());
        } else if (a == "--resume") {
          resume_dir = value();
        } else if (a == "--overwrite") {
          overwrite = true;
        } else {
          SINKLAB_FAIL("unknown option '", a, "' (see --help)");
        }
      }
      SINKLAB_CHECK(!config_file.empty() || !resume_dir.empty(), "give --config FILE or --resume RUN_DIR (see --help)");
      SINKLAB_CHECK(config_file.empty() || resume_dir.empty(), "--config and --resume exclude each other: --resume ",
                    resume_dir, " continues with the run's own config.json (change keys of it with --set)");
      SINKLAB_CHECK(!overwrite || resume_dir.empty(), "--overwrite starts a new run; it does not go with --resume");
      if (!resume_dir.empty()) {
        const fs::path stored = fs::path(resume_dir) / "config.json";
        SINKLAB_CHECK(fs::exists(stored), resume_dir, ": no config.json; is this a run directory?");
        cfg = train::load_config(stored, sets);
        cfg["run_dir"] = resume_dir;
      } else {
        cfg = train::load_config(config_file, sets);
      }
    };
    if (ranks)
      dist::agree(*ranks, "arguments", read_arguments);
    else
      read_arguments();
#ifdef SINKLAB_HAVE_MPI
    if (ranks) comm->set_timeout(cfg["train"]["collective_timeout"].get<double>());
#endif
    // The trainer checks everything (config, data, model) before it creates, moves or deletes anything.
    const auto mode = !resume_dir.empty() ? train::StartMode::resume
                      : overwrite         ? train::StartMode::overwrite
                                          : train::StartMode::fresh;
    std::signal(SIGINT, [](int) { train::stop_requested() = true; });
    std::signal(SIGTERM, [](int) { train::stop_requested() = true; });
    if (cfg["train"]["device"] == "cuda") {
#if defined(SINKLAB_HAVE_CUDA_BACKEND)
      return train_on<Cuda>(cfg, mode, ranks, rank0);
#else
      SINKLAB_FAIL("train.device: 'cuda' needs sinklab-pretrain-cuda, which is built where the CUDA toolkit is "
                   "found (SINKLAB_ENABLE_CUDA); this binary trains on the CPU");
#endif
    }
    return train_on<Cpu>(cfg, mode, ranks, rank0);
  } catch (const dist::AgreedError& e) {  // every rank knows: each ends cleanly, rank 0 says why
    if (rank0) std::cerr << "sinklab-pretrain: error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    if (!ranks) {
      std::cerr << "sinklab-pretrain: error: " << e.what() << "\n";
      return 2;
    }
    // Only this rank knows: the others may be waiting for it in a collective, so end the whole job.
    std::cerr << "sinklab-pretrain: rank " << ranks->rank() << ": error: " << e.what() << "\n" << std::flush;
#ifdef SINKLAB_HAVE_MPI
    dist::MpiSession::abort(2);
#endif
    return 2;
  }
}
