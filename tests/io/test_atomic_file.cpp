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
