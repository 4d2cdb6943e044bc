#pragma once
// Child processes for the experiment runner: a pool that runs jobs N at a time with posix_spawn, each job's stdout
// and stderr into its log file, and forwards SIGINT/SIGTERM to the running children (then starts nothing new and
// waits for them); a helper that captures a short command's output (git); shell quoting for printed commands.
//
// Note [waiting without races]: SIGCHLD, SIGINT and SIGTERM stay blocked while the pool inspects its children and
// are unblocked only inside sigsuspend(), which returns once one of them is delivered. A child that exits, or a
// Ctrl-C that arrives, between the check and the wait is therefore held pending and ends the wait at once, instead
// of being lost while the pool sleeps. Children start with an empty signal mask and default dispositions.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "sinklab/core/error.hpp"

extern char** environ;

namespace sinklab::experiment {

namespace fs = std::filesystem;

struct Job {
  std::vector<std::string> argv;  // argv[0] is the program's path
  fs::path log;                   // stdout and stderr go here; stdin is /dev/null
  bool append_log = false;        // a resumed run keeps its earlier log
};

struct JobEnd {
  int exit_code = 0;        // the exit status; 128 + N when killed by signal N (as a shell says); 127: not started
  int signal = 0;           // the signal that killed it; 0 when it exited by itself
  double wall_s = 0;        // from spawn to exit
  std::string spawn_error;  // why it could not start; empty when it ran
};

// "exit 2", "killed by signal 9 (Killed)", "could not start: ..." for messages.
inline std::string describe_exit(const JobEnd& e) {
  if (!e.spawn_error.empty()) return "could not start: " + e.spawn_error;
  if (e.signal != 0) {
    const char* name = ::strsignal(e.signal);
    return "killed by signal " + std::to_string(e.signal) + " (" + (name ? name : "?") + ")";
  }
  return "exit " + std::to_string(e.exit_code);
}

// Quotes a word for a POSIX shell only when it needs it, so printed commands can be pasted back.
inline std::string shell_quote(const std::string& s) {
  const bool plain = !s.empty() && s.find_first_not_of(
                                       "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                       "0123456789_-./=:,+@%") == std::string::npos;
  if (plain) return s;
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

inline std::string command_line(std::span<const std::string> argv) {
  std::string out;
  for (const auto& a : argv) out += (out.empty() ? "" : " ") + shell_quote(a);
  return out;
}

namespace detail {
inline volatile sig_atomic_t g_stop_signal = 0;  // the last SIGINT/SIGTERM received while a pool runs
inline volatile sig_atomic_t g_stop_count = 0;   // how many; each is forwarded once

// Installs the pool's handlers and blocks its signals outside sigsuspend (Note [waiting without races]); the
// destructor restores the caller's handlers and mask.
class PoolSignals {
 public:
  PoolSignals() {
    g_stop_signal = 0;
    g_stop_count = 0;
    sigset_t ours;
    sigemptyset(&ours);
    for (int s : kSignals) sigaddset(&ours, s);
    ::sigprocmask(SIG_BLOCK, &ours, &saved_mask_);
    wait_mask_ = saved_mask_;
    for (int s : kSignals) sigdelset(&wait_mask_, s);
    struct sigaction sa {};
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = [](int sig) {
      g_stop_signal = sig;
      g_stop_count = g_stop_count + 1;
    };
    ::sigaction(SIGINT, &sa, &saved_[0]);
    ::sigaction(SIGTERM, &sa, &saved_[1]);
    sa.sa_handler = [](int) {};  // SIGCHLD's default is to discard it, which would not end sigsuspend
    ::sigaction(SIGCHLD, &sa, &saved_[2]);
  }
  ~PoolSignals() {
    for (std::size_t i = 0; i < kSignals.size(); ++i) ::sigaction(kSignals[i], &saved_[i], nullptr);
    ::sigprocmask(SIG_SETMASK, &saved_mask_, nullptr);
  }
  PoolSignals(const PoolSignals&) = delete;
  PoolSignals& operator=(const PoolSignals&) = delete;

  void wait() const { ::sigsuspend(&wait_mask_); }

 private:
  static constexpr std::array<int, 3> kSignals = {SIGINT, SIGTERM, SIGCHLD};
  sigset_t saved_mask_{}, wait_mask_{};
  struct sigaction saved_[3]{};
};

// posix_spawn attributes for every child: empty mask, default dispositions for the signals the pool handles.
struct SpawnAttr {
  posix_spawnattr_t attr;
  SpawnAttr() {
    posix_spawnattr_init(&attr);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    for (int s : {SIGINT, SIGTERM, SIGCHLD, SIGPIPE}) sigaddset(&defaults, s);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  }
  ~SpawnAttr() { posix_spawnattr_destroy(&attr); }
};

struct FileActions {
  posix_spawn_file_actions_t fa;
  FileActions() { posix_spawn_file_actions_init(&fa); }
  ~FileActions() { posix_spawn_file_actions_destroy(&fa); }
};

inline std::vector<char*> c_argv(const std::vector<std::string>& argv) {
  std::vector<char*> out;
  for (const auto& a : argv) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

// Starts `job`; returns the pid, or -1 with `error` set.
inline pid_t spawn_job(const Job& job, std::string& error) {
  SINKLAB_CHECK(!job.argv.empty(), "spawn_job: empty command");
  FileActions fa;
  posix_spawn_file_actions_addopen(&fa.fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa.fa, 1, job.log.c_str(),
                                   O_WRONLY | O_CREAT | (job.append_log ? O_APPEND : O_TRUNC), 0644);
  posix_spawn_file_actions_adddup2(&fa.fa, 1, 2);
  SpawnAttr attr;
  auto argv = c_argv(job.argv);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, argv[0], &fa.fa, &attr.attr, argv.data(), environ);
  if (rc != 0) {
    error = "cannot run '" + job.argv[0] + "' with its output to '" + job.log.string() + "': " + std::strerror(rc);
    return -1;
  }
  return pid;
}

inline int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}
}  // namespace detail

struct PoolCallbacks {
  std::function<void(std::size_t job)> started;
  std::function<void(std::size_t job, const JobEnd&)> finished;
  std::function<void(int signal, std::size_t running)> stopping;  // a SIGINT/SIGTERM arrived and was forwarded
};

// Runs `jobs` in order, at most `parallel` at a time, calling back as each starts and ends. A SIGINT or SIGTERM
// received meanwhile is forwarded to every running child and no further job starts; the pool still waits for the
// running ones. Returns that signal, or 0 when every job ran. For single-threaded callers (the signal mask is the
// calling thread's), one pool at a time.
inline int run_jobs(std::span<const Job> jobs, int parallel, const PoolCallbacks& cb = {}) {
  SINKLAB_CHECK(parallel >= 1, "run_jobs: parallel must be >= 1, got ", parallel);
  using clock = std::chrono::steady_clock;
  struct Running {
    pid_t pid;
    std::size_t job;
    clock::time_point t0;
  };
  detail::PoolSignals signals;
  std::vector<Running> running;
  std::size_t next = 0;
  int forwarded = 0;
  while (true) {
    for (std::size_t i = 0; i < running.size();) {
      int status = 0;
      const pid_t r = ::waitpid(running[i].pid, &status, WNOHANG);
      if (r == 0 || (r < 0 && errno == EINTR)) {
        ++i;
        continue;
      }
      JobEnd end;
      end.exit_code = r < 0 ? -1 : detail::exit_code_of(status);
      end.signal = r > 0 && WIFSIGNALED(status) ? WTERMSIG(status) : 0;
      end.wall_s = std::chrono::duration<double>(clock::now() - running[i].t0).count();
      const std::size_t job = running[i].job;
      running.erase(running.begin() + static_cast<std::ptrdiff_t>(i));
      if (cb.finished) cb.finished(job, end);
    }
    const int stop = detail::g_stop_signal;
    if (stop != 0 && forwarded < detail::g_stop_count) {
      forwarded = detail::g_stop_count;
      for (const auto& r : running) ::kill(r.pid, stop);
      if (cb.stopping) cb.stopping(stop, running.size());
    }
    while (stop == 0 && running.size() < static_cast<std::size_t>(parallel) && next < jobs.size()) {
      const std::size_t job = next++;
      std::string error;
      const auto t0 = clock::now();
      const pid_t pid = detail::spawn_job(jobs[job], error);
      if (cb.started) cb.started(job);
      if (pid < 0) {
        if (cb.finished) cb.finished(job, JobEnd{127, 0, 0.0, error});
        continue;
      }
      running.push_back({pid, job, t0});
    }
    if (running.empty()) return stop;
    signals.wait();
  }
}

struct Captured {
  int exit_code = -1;
  std::string out;  // stdout; stderr is discarded
};

// Runs a short command (looked up in PATH) and returns its stdout; nullopt when it cannot be started.
inline std::optional<Captured> capture_output(const std::vector<std::string>& argv) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return std::nullopt;
  detail::FileActions fa;
  posix_spawn_file_actions_addopen(&fa.fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa.fa, fds[1], 1);
  posix_spawn_file_actions_addopen(&fa.fa, 2, "/dev/null", O_WRONLY, 0);
  detail::SpawnAttr attr;
  auto cargv = detail::c_argv(argv);
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, cargv[0], &fa.fa, &attr.attr, cargv.data(), environ);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    return std::nullopt;
  }
  Captured c;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    c.out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  c.exit_code = detail::exit_code_of(status);
  return c;
}

}  // namespace sinklab::experiment
