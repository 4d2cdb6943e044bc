#pragma once
// Whole-file I/O. Writes go to a temp file in the target's directory, are fsync'd, then renamed over the target:
// rename(2) within one filesystem is atomic, so a reader (or a crash) sees the old file or the new one, never half.
#include <fcntl.h>
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

// Reads the whole file; errors name the path.
template <class Container = std::vector<std::byte>>
Container read_file_as(const std::filesystem::path& path) {
  std::ifstream is(path, std::ios::binary | std::ios::ate);
  SINKLAB_CHECK(is, "cannot open '", path.string(), "': ", std::strerror(errno));
  const auto size = static_cast<std::size_t>(is.tellg());
  Container out(size, typename Container::value_type{});
  is.seekg(0);
  is.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(size));
  SINKLAB_CHECK(is.gcount() == static_cast<std::streamsize>(size), "short read of '", path.string(), "': got ",
                is.gcount(), " of ", size, " bytes");
  return out;
}

inline std::vector<std::byte> read_file(const std::filesystem::path& path) { return read_file_as(path); }
inline std::string read_text_file(const std::filesystem::path& path) { return read_file_as<std::string>(path); }

}  // namespace sinklab::io
