#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "sinklab/io/atomic_file.hpp"
#include "tmpdir.hpp"

using namespace sinklab;

TEST_CASE("write_file_atomic writes and replaces whole files", "[io]") {
  test::TempDir dir("atomic");
  const auto p = dir / "a.txt";
  io::write_file_atomic(p, std::string_view("hello"));
  CHECK(io::read_text_file(p) == "hello");
  io::write_file_atomic(p, std::string_view("bye"));
  CHECK(io::read_text_file(p) == "bye");
}

TEST_CASE("a writer that throws leaves the old file and no temp files", "[io]") {
  test::TempDir dir("atomic");
  const auto p = dir / "a.txt";
  io::write_file_atomic(p, std::string_view("old contents"));
  CHECK_THROWS_AS(io::write_file_atomic(p,
                                        [](std::ostream& os) {
                                          os << "partial new";
                                          throw std::runtime_error("disk full (simulated)");
                                        }),
                  std::runtime_error);
  CHECK(io::read_text_file(p) == "old contents");
  int n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path)) ++n;
  CHECK(n == 1);
}

TEST_CASE("read_file names the missing path", "[io]") {
  try {
    io::read_file("/nonexistent/dir/x.bin");
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK_THAT(e.what(), Catch::Contains("/nonexistent/dir/x.bin"));
  }
}

TEST_CASE("reading a directory, FIFO or device is an error that names it, not a hang or bad_alloc", "[io]") {
  test::TempDir dir("atomic");
  auto error_of = [](const std::filesystem::path& p) {
    try {
      io::read_text_file(p);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK_THAT(error_of(dir.path), Catch::Contains("'" + dir.path.string() + "': a directory, not a regular file"));
  const auto fifo = dir / "pipe";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);  // no writer: opening it blocking would wait forever
  CHECK_THAT(error_of(fifo), Catch::Contains("a FIFO, not a regular file"));
  CHECK_THAT(error_of("/dev/zero"), Catch::Contains("'/dev/zero': a character device"));
  CHECK_THROWS_WITH(io::read_file(dir.path), Catch::Contains("a directory"));
  // Regular files through a symlink are fine.
  io::write_file_atomic(dir / "a.txt", std::string_view("text"));
  std::filesystem::create_symlink(dir / "a.txt", dir / "link");
  CHECK(io::read_text_file(dir / "link") == "text");
  CHECK(io::RegularFile(dir / "a.txt").size() == 4);
  io::write_file_atomic(dir / "empty", std::string_view(""));
  CHECK(io::read_file(dir / "empty").empty());
}
