#pragma once
// One exception type for every user-facing failure; messages name the shape, key or file at fault.
#include <sstream>
#include <stdexcept>
#include <string>

namespace sinklab {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
template <class... Args>
[[noreturn]] inline void throw_error(const char* file, int line, Args&&... args) {
  std::ostringstream os;
  (os << ... << args);
  os << " [" << file << ':' << line << ']';
  throw Error(os.str());
}
}  // namespace detail

}  // namespace sinklab

// SINKLAB_CHECK(cond, "message parts ", value, ...): throws sinklab::Error with the streamed message.
#define SINKLAB_CHECK(cond, ...)                                              \
  do {                                                                        \
    if (!(cond)) ::sinklab::detail::throw_error(__FILE__, __LINE__, __VA_ARGS__); \
  } while (0)

#define SINKLAB_FAIL(...) ::sinklab::detail::throw_error(__FILE__, __LINE__, __VA_ARGS__)
