#pragma once
// Where and when results were made, so a committed table says what produced it: UTC time, CPU model and core
// count, OS, the sinklab commit (with "(dirty)" when tracked files differ from it) and the exact command line.
#include <sys/utsname.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <thread>

#include "sinklab/experiment/process.hpp"
#include "sinklab/io/config.hpp"

namespace sinklab::experiment {

struct Stamp {
  std::string utc;      // "2025-01-31 14:05:09 UTC"
  std::string cpu;      // /proc/cpuinfo's model name
  unsigned cores = 0;   // hardware threads
  std::string os;       // "Debian GNU/Linux 12 (bookworm), Linux 6.1.0-18-amd64 x86_64"
  std::string commit;   // full hash, or "unknown" outside a git checkout
  bool dirty = false;   // tracked files differ from the commit
  std::string command;  // the command line, shell-quoted
};

inline std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

namespace detail {
// The value after "key" up to the end of its line in a "key: value" / key="value" file; empty when absent.
inline std::string field_of(const fs::path& file, const std::string& key, char sep) {
  std::ifstream is(file);
  for (std::string line; std::getline(is, line);) {
    if (line.rfind(key, 0) != 0) continue;
    const auto at = line.find(sep, key.size());
    if (at == std::string::npos || line.find_first_not_of(" \t", key.size()) != at) continue;
    std::string v = line.substr(at + 1);
    v.erase(0, v.find_first_not_of(" \t\""));
    while (!v.empty() && (v.back() == '"' || v.back() == ' ' || v.back() == '\r')) v.pop_back();
    return v;
  }
  return {};
}
}  // namespace detail

// `source_dir`: the sinklab checkout to ask git about; `argv`: the command line to record.
inline Stamp make_stamp(const fs::path& source_dir, std::span<const std::string> argv) {
  Stamp s;
  s.utc = utc_now();
  s.cpu = detail::field_of("/proc/cpuinfo", "model name", ':');
  if (s.cpu.empty()) s.cpu = "unknown CPU";
  s.cores = std::thread::hardware_concurrency();
  s.os = detail::field_of("/etc/os-release", "PRETTY_NAME", '=');
  utsname u{};
  if (::uname(&u) == 0) s.os += (s.os.empty() ? "" : ", ") + std::string(u.sysname) + " " + u.release + " " + u.machine;
  s.commit = "unknown";
  const auto head = capture_output({"git", "-C", source_dir.string(), "rev-parse", "HEAD"});
  if (head && head->exit_code == 0 && head->out.size() >= 40) {
    s.commit = head->out.substr(0, 40);
    const auto status =
        capture_output({"git", "-C", source_dir.string(), "status", "--porcelain", "--untracked-files=no"});
    s.dirty = status && status->exit_code == 0 && !status->out.empty();
  }
  s.command = command_line(argv);
  return s;
}

// "9fe06ee1a2b3 (dirty)"
inline std::string short_commit(const Stamp& s) {
  return (s.commit.size() >= 12 ? s.commit.substr(0, 12) : s.commit) + (s.dirty ? " (dirty)" : "");
}

inline io::Json to_json(const Stamp& s) {
  return {{"utc", s.utc},       {"cpu", s.cpu},     {"cores", s.cores},    {"os", s.os},
          {"commit", s.commit}, {"dirty", s.dirty}, {"command", s.command}};
}

}  // namespace sinklab::experiment
