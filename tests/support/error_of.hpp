#pragma once
// error_of(f): the message of the sinklab::Error that f() throws, or "" when it throws none, for tests that check
// what an error names (CHECK_THAT(error_of([&] { ... }), Catch::Contains("key"))). Other exceptions propagate and
// fail the test: a bad input must end in a clean sinklab::Error.
#include <string>

#include "sinklab/core/error.hpp"

namespace sinklab::test {
inline std::string error_of(auto&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace sinklab::test
