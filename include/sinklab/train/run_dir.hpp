#pragma once
// A run directory belongs to one run. The process that trains in it holds an exclusive flock(2) on
// <run_dir>/.lock for its whole life, so a second sinklab-pretrain on the same directory fails at once, naming the
// holder's pid, instead of interleaving checkpoints and metrics. The kernel drops the lock when the holder exits,
// however it exits, so there is never a stale lock to clear; the lock file itself is never deleted (deleting it
// would let two processes lock two different files of the same name).
// Also here: what counts as a previous run, moving one aside for --overwrite (see note [replacing a run]), and
// cleaning up after a process killed mid-write.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "sinklab/core/error.hpp"

namespace sinklab::train {

namespace fs = std::filesystem;

class RunDirLock {
 public:
  // Creates run_dir when missing and locks it, or throws naming the pid that holds it.
  explicit RunDirLock(const fs::path& run_dir) : file_(run_dir / ".lock") {
    std::error_code ec;
    fs::create_directories(run_dir, ec);
    SINKLAB_CHECK(!ec, "run_dir '", run_dir.string(), "': cannot create it: ", ec.message());
    fd_ = ::open(file_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    SINKLAB_CHECK(fd_ >= 0, "cannot open the lock file '", file_.string(), "': ", std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      ::close(fd_);
      fd_ = -1;
      SINKLAB_CHECK(err == EWOULDBLOCK, "cannot lock '", file_.string(), "': ", std::strerror(err));
      const std::string pid = holder_pid(file_);
      SINKLAB_FAIL("run_dir '", run_dir.string(), "' is in use by another run (",
                   pid.empty() ? std::string("pid not yet written") : "pid " + pid,
                   pid == std::to_string(::getpid()) ? ", this process" : "", "; lock ", file_.string(),
                   "). Wait for it to end, or stop it (it saves a checkpoint on SIGTERM)");
    }
    // Ours now: leave our pid for the next one to name. A failure here costs only that message.
    const std::string pid = std::to_string(::getpid()) + "\n";
    [[maybe_unused]] const bool written =
        ::ftruncate(fd_, 0) == 0 && ::pwrite(fd_, pid.data(), pid.size(), 0) == ssize_t(pid.size());
  }
  ~RunDirLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
  }
  RunDirLock(const RunDirLock&) = delete;
  RunDirLock& operator=(const RunDirLock&) = delete;

 private:
  // The holder writes its pid right after locking; give it a moment if we looked in between.
  static std::string holder_pid(const fs::path& file) {
    for (int attempt = 0; attempt < 20; ++attempt) {
      char buf[32] = {};
      const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
      const ssize_t n = fd >= 0 ? ::read(fd, buf, sizeof buf - 1) : -1;
      if (fd >= 0) ::close(fd);
      std::string s(buf, n > 0 ? std::size_t(n) : 0);
      while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
      if (!s.empty()) return s;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return {};
  }

  fs::path file_;
  int fd_ = -1;
};

// What a run writes into its directory: any of these means the directory holds a run, which only --resume continues
// and only --overwrite replaces. (cache/ and a trained tokenizer.model are inputs the next run reuses, not results.)
inline constexpr std::array<const char*, 4> kRunFiles = {"config.json", "metrics.jsonl", "checkpoints", "final"};
// Plots of metrics.jsonl that `sinklab-probe plot` adds: they describe the old run, so they move with it.
inline constexpr std::array<const char*, 4> kRunPlots = {"loss.svg", "loss.csv", "sink.svg", "sink.csv"};
inline constexpr const char* kReplacedPrefix = ".replaced-";

inline bool path_exists(const fs::path& p) {
  std::error_code ec;
  return fs::exists(fs::symlink_status(p, ec));
}

// The kRunFiles present in run_dir, as "config.json, final/".
inline std::string previous_run_files(const fs::path& run_dir) {
  std::string out;
  for (const char* f : kRunFiles)
    if (path_exists(run_dir / f))
      out += (out.empty() ? "" : ", ") + std::string(f) + (fs::is_directory(run_dir / f) ? "/" : "");
  return out;
}

// Note [replacing a run]: --overwrite validates the new run first (config, data, model), then renames the old
// run's files into <run_dir>/.replaced-<UTC time>-<pid>/ just before the first step, and deletes that directory
// only once the new run has written its first complete checkpoint (or ends). Until then the old run is one `mv`
// away: a new run that crashes, is killed, or stops on a NaN before its first checkpoint loses nothing. Renames
// within one directory copy nothing, so this costs no time or space up front. A leftover .replaced-* (the new run
// never reached a checkpoint) is reported by the next run in the directory and deleted by the next --overwrite run
// once it has a checkpoint: it is the older of two runs the user asked to replace.

// Moves the previous run's files aside; returns the directory they went to (empty when there was nothing).
inline fs::path move_previous_run_aside(const fs::path& run_dir) {
  if (previous_run_files(run_dir).empty()) return {};
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &utc);
  const fs::path aside = run_dir / (kReplacedPrefix + std::string(stamp) + "-" + std::to_string(::getpid()));
  fs::create_directory(aside);
  for (const auto& group : {kRunFiles, kRunPlots})
    for (const char* f : group)
      if (path_exists(run_dir / f)) fs::rename(run_dir / f, aside / f);
  return aside;
}

inline std::vector<fs::path> replaced_runs(const fs::path& run_dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(run_dir, ec))
    if (e.path().filename().string().rfind(kReplacedPrefix, 0) == 0) out.push_back(e.path());
  return out;
}

inline void delete_replaced_runs(const fs::path& run_dir) {
  for (const auto& d : replaced_runs(run_dir)) fs::remove_all(d);
}

namespace detail {
// A temporary of ours: "<target>.tmp.<pid>.<n>" / "<target>.old.<pid>.<n>" (save_checkpoint's directories: the new
// checkpoint being written, and the complete one it replaces while the two are swapped) or ".<name>.tmp.<pid>.<n>"
// (io::write_file_atomic). Earlier versions wrote "step_N.tmp" / "step_N.old" without a pid (pid 0 here).
struct Temporary {
  std::string target;  // the name it stands in for
  bool replaced;       // an ".old": a complete directory moved aside
  long pid;
};

inline std::optional<Temporary> parse_temporary(const std::string& name) {
  static const std::regex with_pid(R"((.+)\.(tmp|old)\.([0-9]{1,9})\.[0-9]+)"),
      legacy(R"((step_[0-9]+|final)\.(tmp|old))");
  std::smatch m;
  if (std::regex_match(name, m, with_pid)) return Temporary{m[1].str(), m[2] == "old", std::stol(m[3].str())};
  if (std::regex_match(name, m, legacy)) return Temporary{m[1].str(), m[2] == "old", 0};
  return std::nullopt;
}

inline bool process_alive(long pid) { return pid > 0 && (::kill(pid_t(pid), 0) == 0 || errno == EPERM); }
}  // namespace detail

// Cleans up after a process killed while writing into run_dir or run_dir/checkpoints. A checkpoint moved aside
// (".old") whose replacement never arrived is renamed back: it is complete, and may be the only copy of that step;
// every other temporary is removed. Call it holding the lock and before writing anything: then no other sinklab
// process writes here, and a temporary with our own pid is from a dead process whose pid we were given again. A
// temporary of another live process (not a sinklab of this version, which would hold the lock) is left alone.
// Returns one line per change.
inline std::vector<std::string> clean_up_after_dead_writers(const fs::path& run_dir) {
  std::vector<std::string> done;
  for (const fs::path& dir : {run_dir, run_dir / "checkpoints"}) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    std::vector<std::pair<fs::path, detail::Temporary>> stale;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      const auto t = detail::parse_temporary(e.path().filename().string());
      if (t && (t->pid == 0 || t->pid == ::getpid() || !detail::process_alive(t->pid)))
        stale.emplace_back(e.path(), *t);
    }
    std::sort(stale.begin(), stale.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [path, t] : stale) {
      const std::string name = fs::relative(path, run_dir).string();
      if (t.replaced && !path_exists(dir / t.target)) {
        fs::rename(path, dir / t.target);
        done.push_back("restored " + fs::relative(dir / t.target, run_dir).string() + " from " + name +
                       ", where a process killed while replacing it had moved it");
      } else {
        fs::remove_all(path);
        done.push_back("removed " + name + ", left by a process killed while writing it");
      }
    }
  }
  return done;
}

}  // namespace sinklab::train
