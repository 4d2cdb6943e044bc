#pragma once
// Whole-file I/O. Writes go to a temp file in the target's directory, are fsync'd, then renamed over the target:
// rename(2) within one filesystem is atomic, so a reader (or a crash) sees the old file or the new one, never half.
// Reads accept regular files only (a directory, FIFO or device is an error that names the path).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "sinklab/core/error.hpp"

namespace sinklab::io {

namespace detail {
inline void fsync_path(const std::filesystem::path& p, bool directory) {
  const int fd = ::open(p.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) {
    SINKLAB_CHECK(directory, "cannot open '", p.string(), "' to fsync: ", std::strerror(errno));
    return;  // some filesystems refuse to open directories; the data itself is already synced
  }
  const int rc = ::fsync(fd);
  ::close(fd);
  SINKLAB_CHECK(rc == 0 || directory, "fsync of '", p.string(), "' failed: ", std::strerror(errno));
}

inline std::filesystem::path temp_path_for(const std::filesystem::path& target) {
  static std::atomic<unsigned> counter{0};
  auto name = target.filename().string();
  name = "." + name + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  return target.parent_path() / name;
}
}  // namespace detail

// Writes the file by calling `writer` on a stream to a temp file, then renames it over `path`. If the writer throws
// or the stream fails, the temp file is removed and `path` keeps its previous contents.
inline void write_file_atomic(const std::filesystem::path& path, const std::function<void(std::ostream&)>& writer) {
  const auto tmp = detail::temp_path_for(path);
  try {
    {
      std::ofstream os(tmp, std::ios::binary | std::ios::trunc);
      SINKLAB_CHECK(os, "cannot create temp file '", tmp.string(), "' for '", path.string(),
                    "': ", std::strerror(errno));
      writer(os);
      os.flush();
      SINKLAB_CHECK(os, "write to '", path.string(), "' failed (temp '", tmp.string(), "'): ", std::strerror(errno));
    }
    detail::fsync_path(tmp, false);
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    SINKLAB_CHECK(!ec, "cannot rename '", tmp.string(), "' to '", path.string(), "': ", ec.message());
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    throw;
  }
  // Make the rename itself durable.
  detail::fsync_path(path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path(), true);
}

inline void write_file_atomic(const std::filesystem::path& path, std::span<const std::byte> bytes) {
  write_file_atomic(path, [&](std::ostream& os) {
    os.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  });
}

inline void write_file_atomic(const std::filesystem::path& path, std::string_view text) {
  write_file_atomic(path, std::as_bytes(std::span(text.data(), text.size())));
}

namespace detail {
inline const char* file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "a special file";
}
}  // namespace detail

// A regular file open for reading, with its size. A directory, FIFO or device (such as /dev/zero) is refused with
// an error that names the path and what it is: reading one fails with a misleading error, blocks, or never ends.
// O_NONBLOCK keeps the open of a FIFO from waiting for a writer; it changes nothing for regular files.
class RegularFile {
 public:
  explicit RegularFile(std::filesystem::path path) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    SINKLAB_CHECK(fd_ >= 0, "cannot open '", path_.string(), "': ", std::strerror(errno));
    struct stat st {};
    const bool stat_ok = ::fstat(fd_, &st) == 0;
    const int err = errno;
    if (!stat_ok || !S_ISREG(st.st_mode)) {
      ::close(fd_);
      SINKLAB_FAIL("cannot read '", path_.string(), "': ",
                   stat_ok ? std::string(detail::file_kind(st.st_mode)) + ", not a regular file" : std::strerror(err));
    }
    size_ = static_cast<std::size_t>(st.st_size);
  }
  ~RegularFile() { ::close(fd_); }
  RegularFile(const RegularFile&) = delete;
  RegularFile& operator=(const RegularFile&) = delete;

  std::size_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }

  // Reads exactly `n` bytes at the current position; a file that ends early is an error naming the path.
  void read(void* dst, std::size_t n) {
    std::size_t got = 0;
    while (got < n) {
      const ssize_t r = ::read(fd_, static_cast<char*>(dst) + got, n - got);
      if (r < 0 && errno == EINTR) continue;
      SINKLAB_CHECK(r > 0, "short read of '", path_.string(), "': got ", got, " of ", n, " bytes",
                    r < 0 ? std::string(": ") + std::strerror(errno) : std::string(" (the file ended early)"));
      got += static_cast<std::size_t>(r);
    }
  }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  std::size_t size_ = 0;
};

// Reads the whole regular file; errors name the path.
template <class Container = std::vector<std::byte>>
Container read_file_as(const std::filesystem::path& path) {
  RegularFile f(path);
  Container out(f.size(), typename Container::value_type{});
  f.read(out.data(), out.size());
  return out;
}

inline std::vector<std::byte> read_file(const std::filesystem::path& path) { return read_file_as(path); }
inline std::string read_text_file(const std::filesystem::path& path) { return read_file_as<std::string>(path); }

}  // namespace sinklab::io
