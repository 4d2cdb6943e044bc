#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "io/tmpdir.hpp"
#include "sinklab/experiment/process.hpp"
#include "sinklab/io/atomic_file.hpp"

using namespace sinklab;
using namespace sinklab::experiment;
using Catch::Matchers::Contains;

namespace {
Job sh(const std::string& script, const fs::path& log, bool append = false) {
  return {{"/bin/sh", "-c", script}, log, append};
}
}  // namespace

TEST_CASE("the pool runs every job, output to its log, exit codes back", "[experiment][process]") {
  test::TempDir dir("pool");
  io::write_file_atomic(dir / "c.log", std::string_view("earlier\n"));
  const std::vector<Job> jobs = {sh("echo out; echo err >&2; exit 0", dir / "a.log"),
                                 sh("exit 3", dir / "b.log"),
                                 sh("echo resumed", dir / "c.log", /*append=*/true),
                                 sh("kill -KILL $$", dir / "d.log"),
                                 {{(dir / "missing").string()}, dir / "e.log", false}};
  std::vector<int> exit_codes(jobs.size(), -99);
  std::vector<std::size_t> order;
  PoolCallbacks cb;
  cb.started = [&](std::size_t k) { order.push_back(k); };
  cb.finished = [&](std::size_t k, const JobEnd& e) {
    exit_codes[k] = e.exit_code;
    CHECK(e.signal == (k == 3 ? SIGKILL : 0));
    if (k == 4) CHECK_THAT(e.spawn_error, Contains("missing"));
  };
  CHECK(run_jobs(jobs, 2, cb) == 0);
  CHECK(order == std::vector<std::size_t>{0, 1, 2, 3, 4});  // started in order
  CHECK(exit_codes == std::vector<int>{0, 3, 0, 128 + SIGKILL, 127});
  CHECK(io::read_text_file(dir / "a.log") == "out\nerr\n");
  CHECK(io::read_text_file(dir / "c.log") == "earlier\nresumed\n");
  CHECK(describe_exit({128 + SIGKILL, SIGKILL, 1.0, ""}).find("killed by signal 9 (") == 0);
  CHECK(describe_exit({3, 0, 1.0, ""}) == "exit 3");
}

TEST_CASE("the pool never runs more jobs at once than asked", "[experiment][process]") {
  test::TempDir dir("pool");
  // Each job holds a slot file while it runs; a job that finds another one's file records an overlap.
  std::vector<Job> jobs;
  for (int i = 0; i < 4; ++i)
    jobs.push_back(sh("if ls " + (dir / "busy.*").string() + " >/dev/null 2>&1; then touch " +
                          (dir / "overlap").string() + "; fi; touch " + (dir / "busy.").string() + std::to_string(i) +
                          "; sleep 0.05; rm " + (dir / "busy.").string() + std::to_string(i),
                      dir / ("j" + std::to_string(i) + ".log")));
  CHECK(run_jobs(jobs, 1) == 0);
  CHECK(!fs::exists(dir / "overlap"));
}

TEST_CASE("SIGTERM to the runner reaches the children and stops the queue", "[experiment][process]") {
  test::TempDir dir("pool");
  // The child exits 130 on SIGTERM, as pretrain does after saving a checkpoint; without the forwarded signal it
  // would sleep for a minute.
  const std::vector<Job> jobs = {
      sh("trap 'echo saved; exit 130' TERM; touch " + (dir / "ready").string() + "; sleep 60 & wait", dir / "a.log"),
      sh("echo never", dir / "b.log")};
  std::vector<int> exit_codes(jobs.size(), -1);
  std::size_t stopping_with = 0;
  PoolCallbacks cb;
  cb.started = [&](std::size_t k) {
    if (k != 0) return;
    for (int i = 0; i < 500 && !fs::exists(dir / "ready"); ++i) ::usleep(10000);  // the trap is set
    ::kill(::getpid(), SIGTERM);  // held pending until the pool waits (Note [waiting without races])
  };
  cb.finished = [&](std::size_t k, const JobEnd& e) { exit_codes[k] = e.exit_code; };
  cb.stopping = [&](int, std::size_t running) { stopping_with = running; };
  CHECK(run_jobs(jobs, 1, cb) == SIGTERM);
  CHECK(stopping_with == 1);
  CHECK(exit_codes == std::vector<int>{130, -1});  // the second job never started
  CHECK(io::read_text_file(dir / "a.log") == "saved\n");
  CHECK(!fs::exists(dir / "b.log"));
  // the caller's disposition is back: SIGTERM is not blocked any more
  sigset_t now;
  ::sigprocmask(SIG_BLOCK, nullptr, &now);
  CHECK(!sigismember(&now, SIGTERM));
}

TEST_CASE("captured output and shell quoting", "[experiment][process]") {
  const auto c = capture_output({"sh", "-c", "echo hi; echo no >&2; exit 4"});
  REQUIRE(c);
  CHECK(c->out == "hi\n");
  CHECK(c->exit_code == 4);
  CHECK(!capture_output({"/no/such/program"}));
  CHECK(shell_quote("model.seed=1") == "model.seed=1");
  CHECK(shell_quote("model.attention=\"softmax\"") == "'model.attention=\"softmax\"'");
  CHECK(shell_quote("it's") == "'it'\\''s'");
  CHECK(shell_quote("") == "''");
  const std::vector<std::string> argv = {"a b", "c"};
  CHECK(command_line(argv) == "'a b' c");
}
