#pragma once
// A fresh directory per test case, removed afterwards.
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>

namespace sinklab::test {
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& tag = "t") {
    static std::atomic<int> n{0};
    path = std::filesystem::temp_directory_path() /
           ("sinklab_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::filesystem::path operator/(const std::string& name) const { return path / name; }
};
}  // namespace sinklab::test
