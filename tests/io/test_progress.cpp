#include <catch2/catch.hpp>
#include <cstdio>

#include "sinklab/io/atomic_file.hpp"
#include "sinklab/io/progress.hpp"
#include "tmpdir.hpp"

using namespace sinklab;

TEST_CASE("progress line formatting", "[io][progress]") {
  CHECK(io::format_duration(45) == "45s");
  CHECK(io::format_duration(460) == "7m40s");
  CHECK(io::format_duration(7500) == "2h05m");
  CHECK(io::format_duration(NAN) == "?");
  io::Progress p(1000, stderr, false);
  CHECK(p.render(100, 3.45214, 1'230'000, 100.0) ==
        "step 100/1000 | loss 3.4521 | 12.3k tok/s | 1m40s elapsed | ETA 15m00s");
}

TEST_CASE("progress: plain lines into a file, carriage returns on a TTY", "[io][progress]") {
  test::TempDir dir("progress");
  const auto path = dir / "log.txt";
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    {
      io::Progress p(10, f);  // a regular file is not a TTY
      CHECK_FALSE(p.is_tty());
      p.update(1, 2.0, 100);
      p.update(2, 1.5, 200);
    }
    std::fclose(f);
    const auto text = io::read_text_file(path);
    CHECK(text.find('\r') == std::string::npos);
    CHECK(std::count(text.begin(), text.end(), '\n') == 2);
  }
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    {
      io::Progress p(10, f, true);
      p.update(1, 2.0, 100);
      p.update(2, 1.5, 200);
    }
    std::fclose(f);
    const auto text = io::read_text_file(path);
    CHECK(std::count(text.begin(), text.end(), '\r') == 2);
    CHECK(text.back() == '\n');
  }
}
