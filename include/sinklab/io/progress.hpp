#pragma once
// Progress for long runs: "step 120/1000 | loss 3.4521 | 12.3k tok/s | 1m02s elapsed | ETA 7m40s".
// On a terminal the line is redrawn in place ('\r' + clear-to-end); into a file or pipe (CI logs, nohup) each update
// is its own line, so logs stay greppable and free of control characters.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

namespace sinklab::io {

// "45s", "7m40s", "2h05m"; "?" for unknown.
inline std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<int64_t>(std::llround(seconds));
  char buf[32];
  if (s < 60)
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  else
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60));
  return buf;
}

// "950", "12.3k", "4.56M".
inline std::string format_rate(double v) {
  char buf[32];
  if (v >= 1e6)
    std::snprintf(buf, sizeof buf, "%.2fM", v / 1e6);
  else if (v >= 1e3)
    std::snprintf(buf, sizeof buf, "%.1fk", v / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
}

class Progress {
 public:
  using Clock = std::chrono::steady_clock;

  // tty: force the mode (tests); default asks isatty() on the stream.
  explicit Progress(int64_t total_steps, std::FILE* out = stderr, std::optional<bool> tty = std::nullopt)
      : total_(total_steps), out_(out), tty_(tty.value_or(::isatty(::fileno(out)) == 1)), start_(Clock::now()) {}

  // Pure formatting; tokens is the cumulative count since this Progress started.
  std::string render(int64_t step, double loss, int64_t tokens, double elapsed_s) const {
    const double done = static_cast<double>(step - first_step_);
    const double rate = elapsed_s > 0 ? static_cast<double>(tokens) / elapsed_s : 0.0;
    const double eta = done > 0 ? elapsed_s / done * static_cast<double>(total_ - step) : NAN;
    char buf[96];
    std::snprintf(buf, sizeof buf, "step %lld/%lld | loss %.4f | ", static_cast<long long>(step),
                  static_cast<long long>(total_), loss);
    return std::string(buf) + format_rate(rate) + " tok/s | " + format_duration(elapsed_s) + " elapsed | ETA " +
           format_duration(eta);
  }

  void update(int64_t step, double loss, int64_t tokens) {
    if (!started_) first_step_ = step - 1, started_ = true;  // a resumed run's ETA counts only steps done here
    const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
    const std::string line = render(step, loss, tokens, elapsed);
    if (tty_)
      std::fprintf(out_, "\r%s\x1b[K", line.c_str());
    else
      std::fprintf(out_, "%s\n", line.c_str());
    std::fflush(out_);
    dirty_ = tty_;
  }

  // Ends the in-place line on a terminal so later output starts on a fresh line.
  void finish() {
    if (dirty_) std::fputc('\n', out_), std::fflush(out_);
    dirty_ = false;
  }
  ~Progress() { finish(); }

  bool is_tty() const { return tty_; }

 private:
  int64_t total_, first_step_ = 0;
  std::FILE* out_;
  bool tty_, started_ = false, dirty_ = false;
  Clock::time_point start_;
};

}  // namespace sinklab::io
