#pragma once
// The runner: expand a grid into runs, skip the done ones, resume or start the rest as `sinklab-pretrain`
// processes N at a time, log what it did (runner.jsonl), then collect and write the results. Running the same
// command again continues where it stopped; --report-only rebuilds the results from the run directories alone.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "sinklab/experiment/aggregate.hpp"
#include "sinklab/experiment/collect.hpp"
#include "sinklab/experiment/grid.hpp"
#include "sinklab/experiment/plan.hpp"
#include "sinklab/experiment/process.hpp"
#include "sinklab/experiment/report.hpp"
#include "sinklab/experiment/run_log.hpp"
#include "sinklab/experiment/stamp.hpp"

namespace sinklab::experiment {

struct RunnerOptions {
  fs::path out;         // empty: runs/experiments/<grid name>
  fs::path report_dir;  // empty: results only in `out`
  fs::path pretrain;    // empty: find_pretrain()
  int jobs = 1;         // pretrain processes at a time
  int threads = 0;      // train.threads of each; 0: max(1, cores / jobs)
  bool dry_run = false, report_only = false;
  fs::path source_dir;            // the sinklab checkout the stamp's commit comes from
  std::vector<std::string> argv;  // the command line, for the stamp
};

inline fs::path default_out(const Grid& g) { return fs::path("runs") / "experiments" / g.name; }

// sinklab-pretrain next to this executable (an install), in the build tree's apps/pretrain/, then in PATH.
inline fs::path find_pretrain() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec)
    for (const fs::path& p :
         {self.parent_path() / "sinklab-pretrain", self.parent_path().parent_path() / "pretrain" / "sinklab-pretrain"})
      if (::access(p.c_str(), X_OK) == 0) return p;
  const char* path = std::getenv("PATH");
  for (std::string rest = path ? path : ""; !rest.empty();) {
    const auto colon = rest.find(':');
    const fs::path p = fs::path(rest.substr(0, colon)) / "sinklab-pretrain";
    if (!p.parent_path().empty() && ::access(p.c_str(), X_OK) == 0) return p;
    rest = colon == std::string::npos ? "" : rest.substr(colon + 1);
  }
  return {};
}

// The last `n` lines of a log, for the message of a failed run.
inline std::string tail_lines(const fs::path& file, std::size_t n) {
  std::ifstream is(file);
  std::deque<std::string> lines;
  for (std::string line; std::getline(is, line);) {
    lines.push_back(std::move(line));
    if (lines.size() > n) lines.pop_front();
  }
  std::string out;
  for (const auto& l : lines) out += "    " + l + "\n";
  return out;
}

namespace detail {
// One runner per output directory at a time: two would start the same runs twice.
class DirLock {
 public:
  explicit DirLock(const fs::path& dir) {
    const fs::path file = dir / ".runner.lock";
    fd_ = ::open(file.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    SINKLAB_CHECK(fd_ >= 0, "cannot open lock file '", file.string(), "': ", std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd_);
      SINKLAB_FAIL("another sinklab-experiment is running on '", dir.string(), "' (", file.string(), " is locked)");
    }
  }
  ~DirLock() { ::close(fd_); }
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

 private:
  int fd_ = -1;
};

// Collects every run, summarises every arm and writes the results into `out` (and `report_dir`).
inline Report build_report(const Grid& g, const std::vector<RunSpec>& specs, const fs::path& out, const Stamp& stamp) {
  const GridHistory history = read_history(out / "runner.jsonl");
  Report r;
  r.grid = &g;
  r.stamp = stamp;
  r.wall_s_total = history.runs.empty() ? std::numeric_limits<double>::quiet_NaN() : history.wall_s;
  r.metrics = metrics_to_report(g, specs);
  r.primary = !g.primary.empty() ? g.primary : r.metrics.empty() ? "" : r.metrics.front();
  for (const Arm& arm : g.arms)
    for (const RunSpec& spec : specs) {
      if (spec.arm != arm.name) continue;
      const auto h = history.runs.find(spec.id());
      r.runs.push_back(collect_run(spec, inspect_run(spec), h == history.runs.end() ? nullptr : &h->second, r.metrics));
    }
  std::vector<std::string> names;
  for (const Arm& arm : g.arms) names.push_back(arm.name);
  r.arms = summarize_arms(names, r.runs, r.metrics);
  return r;
}
}  // namespace detail

// Runs (or, with --dry-run, prints; with --report-only, only reports) the grid. Progress goes to `log`, errors and
// the tails of failed runs' logs to `err`. Returns the exit status: 0, 1 when a run failed, 130 when interrupted.
inline int run_grid(const Grid& g, const RunnerOptions& opt, std::ostream& log, std::ostream& err) {
  SINKLAB_CHECK(opt.jobs >= 1, "--jobs must be >= 1, got ", opt.jobs);
  SINKLAB_CHECK(opt.threads >= 0, "--threads must be >= 1, got ", opt.threads);
  const fs::path out = opt.out.empty() ? default_out(g) : opt.out;
  const std::vector<RunSpec> specs = expand_runs(g, out);  // every config checked before anything runs
  std::vector<RunStatus> status;
  for (const auto& s : specs) status.push_back(inspect_run(s));

  std::vector<std::string> stale;
  for (std::size_t i = 0; i < specs.size(); ++i)
    if (!status[i].stale.empty()) stale.push_back(specs[i].run_dir.string() + ": " + status[i].stale.front());
  if (!stale.empty() && !opt.report_only) {
    std::string list;
    for (const auto& s : stale) list += "\n  " + s;
    SINKLAB_FAIL(g.file.string(), ": ", stale.size(), " run(s) in '", out.string(),
                 "' were trained with a different config than the grid now gives; remove them to train them again, "
                 "or use another --out:",
                 list);
  }
  for (const auto& s : stale)
    err << "sinklab-experiment: warning: stale run (left out of the per-arm table): " << s << "\n";

  const Stamp stamp = make_stamp(opt.source_dir, opt.argv);
  if (opt.report_only) {
    SINKLAB_CHECK(fs::is_directory(out), "--report-only: no runs to report: '", out.string(),
                  "' is not a directory (see --out)");
    const Report r = detail::build_report(g, specs, out, stamp);
    write_report(out, r);
    if (!opt.report_dir.empty()) write_report(opt.report_dir, r);
    log << to_markdown(arm_table(r.arms, r.metrics));
    log << "sinklab-experiment: results in " << out.string()
        << (opt.report_dir.empty() ? "" : " and " + opt.report_dir.string()) << "\n";
    return 0;
  }

  const fs::path pretrain = opt.pretrain.empty() ? find_pretrain() : opt.pretrain;
  SINKLAB_CHECK(!pretrain.empty(),
                "sinklab-pretrain not found next to this executable or in PATH; pass --pretrain PATH");
  SINKLAB_CHECK(::access(pretrain.c_str(), X_OK) == 0, "--pretrain '", pretrain.string(),
                "' is not an executable file");
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const int threads = opt.threads > 0 ? opt.threads : std::max(1, static_cast<int>(cores) / opt.jobs);

  std::vector<std::size_t> todo;
  std::size_t n_done = 0, n_resume = 0;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    if (status[i].state == RunState::done)
      ++n_done;
    else
      todo.push_back(i), n_resume += status[i].state == RunState::resume;
  }
  std::vector<Job> jobs;
  for (std::size_t i : todo)
    jobs.push_back({pretrain_command(pretrain, g.base, specs[i], status[i].state, threads), specs[i].log,
                    status[i].state == RunState::resume});
  auto count = [](std::size_t n, const char* what) { return std::to_string(n) + " " + what + (n == 1 ? "" : "s"); };
  log << "sinklab-experiment: " << g.name << ": " << count(specs.size(), "run") << " (" << count(g.arms.size(), "arm")
      << " x " << count(g.seeds.size(), "seed") << "): " << n_done << " done, " << n_resume << " to resume, "
      << todo.size() - n_resume << " to start; " << opt.jobs << " at a time, " << count(threads, "thread")
      << " each; out " << out.string() << "\n";
  if (opt.dry_run) {
    for (std::size_t i = 0; i < specs.size(); ++i)
      if (status[i].state == RunState::done) log << "# " << specs[i].id() << ": done\n";
    for (std::size_t k = 0; k < todo.size(); ++k)
      log << "# " << specs[todo[k]].id() << ": " << to_string(status[todo[k]].state) << "\n"
          << command_line(jobs[k].argv) << " > " << shell_quote(jobs[k].log.string()) << " 2>&1\n";
    return 0;
  }

  fs::create_directories(out);
  detail::DirLock lock(out);
  for (std::size_t i : todo) fs::create_directories(specs[i].log.parent_path());
  RunLog run_log(out / "runner.jsonl", stamp);
  const auto t0 = std::chrono::steady_clock::now();
  std::size_t started = 0, finished = 0, failed = 0;
  bool stopping = false;
  PoolCallbacks cb;
  cb.started = [&](std::size_t k) {
    const RunSpec& r = specs[todo[k]];
    const char* mode = to_string(status[todo[k]].state);
    run_log.started(r.id(), mode, command_line(jobs[k].argv));
    log << "[" << ++started << "/" << todo.size() << "] "
        << (status[todo[k]].state == RunState::resume ? "resume " : "start  ") << r.id() << " (log " << r.log.string()
        << ")\n"
        << std::flush;
  };
  cb.finished = [&](std::size_t k, const JobEnd& end) {
    const RunSpec& r = specs[todo[k]];
    run_log.finished(r.id(), to_string(status[todo[k]].state), end.exit_code, end.wall_s);
    ++finished;
    const std::string remain = std::to_string(todo.size() - finished) + " remain";
    if (end.exit_code == 0) {
      log << "done    " << r.id() << " in " << format_seconds(end.wall_s) << "; " << remain << "\n" << std::flush;
    } else if (stopping && end.signal == 0 && end.exit_code == 130) {  // pretrain's "saved a checkpoint, stopped"
      log << "stopped " << r.id() << " after " << format_seconds(end.wall_s) << " (checkpoint saved)\n" << std::flush;
    } else if (stopping && (end.signal == SIGINT || end.signal == SIGTERM)) {  // before pretrain took the signal
      log << "stopped " << r.id() << " after " << format_seconds(end.wall_s) << " (" << describe_exit(end)
          << ", before its first checkpoint)\n"
          << std::flush;
    } else {
      ++failed;
      err << "FAILED  " << r.id() << " (" << describe_exit(end) << ") after " << format_seconds(end.wall_s) << "; "
          << remain;
      if (end.spawn_error.empty()) err << "; last lines of " << r.log.string() << ":\n" << tail_lines(r.log, 15);
      err << "\n" << std::flush;
    }
  };
  cb.stopping = [&](int sig, std::size_t running) {
    stopping = true;
    log << "sinklab-experiment: " << ::strsignal(sig) << ": passed on to " << running
        << " running run(s); waiting for them to save a checkpoint\n"
        << std::flush;
  };
  const int sig = run_jobs(jobs, opt.jobs, cb);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const int rc = sig ? 130 : failed ? 1 : 0;
  if (!jobs.empty()) run_log.invocation(wall, rc);

  const Report r = detail::build_report(g, specs, out, stamp);
  write_report(out, r);
  if (!opt.report_dir.empty()) write_report(opt.report_dir, r);
  log << "\n" << to_markdown(arm_table(r.arms, r.metrics)) << "\n";
  log << "sinklab-experiment: "
      << (jobs.empty() ? "nothing to run" : std::to_string(finished) + " run(s) in " + format_seconds(wall))
      << "; results in " << out.string() << (opt.report_dir.empty() ? "" : " and " + opt.report_dir.string()) << "\n";
  if (failed) err << "sinklab-experiment: " << failed << " run(s) failed (see above)\n";
  if (sig) err << "sinklab-experiment: interrupted; run the same command again to continue\n";
  return rc;
}

}  // namespace sinklab::experiment
