#pragma once
// Untrusted text to typed values, strictly. JSON text is parsed with a nesting limit and errors that give
// file:line:col; a JSON integer must be an integer in range (no 1.9 -> 1, true -> 1 or 2^32 + 65 -> 65); a
// command-line integer or number must be the whole argument. Every error names the file, key or option at fault.
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <system_error>

#include "sinklab/core/error.hpp"

namespace sinklab::io {

using Json = nlohmann::json;

// No JSON we read nests beyond a few levels; deeper text is refused before parsing, because nlohmann's dump()
// (which error messages use) recurses once per level.
inline constexpr std::size_t kMaxJsonDepth = 64;

inline const char* json_type_name(const Json& v) {
  if (v.is_number_integer()) return "integer";
  if (v.is_number_float()) return "number";
  return v.type_name();
}

// The value as JSON text, cut to `max_chars` so that a long array does not flood an error message.
inline std::string json_excerpt(const Json& v, std::size_t max_chars = 60) {
  std::string s = v.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (s.size() > max_chars) s = s.substr(0, max_chars) + "...";
  return s;
}

namespace detail {
inline std::string line_col(std::string_view text, std::size_t offset) {
  std::size_t line = 1, col = 1;
  for (std::size_t i = 0; i < std::min(offset, text.size()); ++i) {
    if (text[i] == '\n')
      ++line, col = 1;
    else
      ++col;
  }
  return std::to_string(line) + ":" + std::to_string(col);
}

// Offset of the first bracket that opens level max_depth + 1 (outside strings), or npos.
inline std::size_t too_deep_at(std::string_view text, std::size_t max_depth) {
  std::size_t depth = 0;
  bool in_string = false, escaped = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::string_view::npos;
}
}  // namespace detail

// Parses JSON text; `source` names it in errors as "source:line:col: message".
inline Json parse_json(std::string_view text, const std::string& source) {
  const std::size_t deep = detail::too_deep_at(text, kMaxJsonDepth);
  SINKLAB_CHECK(deep == std::string_view::npos, source, ":", detail::line_col(text, deep),
                ": invalid JSON: nested deeper than ", kMaxJsonDepth, " levels");
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& e) {
    // nlohmann says "[json.exception.parse_error.101] parse error at line 1, column 9: <reason>"; keep the reason.
    std::string_view reason = e.what();
    const auto at = reason.find("parse error");
    const auto colon = at == std::string_view::npos ? at : reason.find(": ", at);
    if (colon != std::string_view::npos) reason.remove_prefix(colon + 2);
    SINKLAB_FAIL(source, ":", detail::line_col(text, e.byte ? e.byte - 1 : 0), ": invalid JSON: ", reason);
  }
}

// A JSON integer in [lo, hi]. Floats (even 2.0), booleans, strings and out-of-range integers are errors that name
// `key`: nothing is rounded, truncated or wrapped.
inline int64_t int_from_json(const Json& v, std::string_view key, int64_t lo = std::numeric_limits<int64_t>::min(),
                             int64_t hi = std::numeric_limits<int64_t>::max()) {
  SINKLAB_CHECK(v.is_number_integer(), key, ": expected an integer, got ", json_type_name(v), " ", json_excerpt(v));
  const bool in_range = v.is_number_unsigned() ? hi >= 0 && v.get<uint64_t>() <= static_cast<uint64_t>(hi) &&
                                                     (lo <= 0 || v.get<uint64_t>() >= static_cast<uint64_t>(lo))
                                               : v.get<int64_t>() >= lo && v.get<int64_t>() <= hi;
  SINKLAB_CHECK(in_range, key, ": ", v.dump(), " is out of range [", lo, ", ", hi, "]");
  return v.is_number_unsigned() ? static_cast<int64_t>(v.get<uint64_t>()) : v.get<int64_t>();
}

// A finite JSON number (integers allowed); `key` names it in errors.
inline double number_from_json(const Json& v, std::string_view key) {
  SINKLAB_CHECK(v.is_number(), key, ": expected a number, got ", json_type_name(v), " ", json_excerpt(v));
  const double x = v.get<double>();
  SINKLAB_CHECK(std::isfinite(x), key, ": ", v.dump(), " is not finite");
  return x;
}

inline bool bool_from_json(const Json& v, std::string_view key) {
  SINKLAB_CHECK(v.is_boolean(), key, ": expected true or false, got ", json_type_name(v), " ", json_excerpt(v));
  return v.get<bool>();
}

inline std::string string_from_json(const Json& v, std::string_view key) {
  SINKLAB_CHECK(v.is_string(), key, ": expected a string, got ", json_type_name(v), " ", json_excerpt(v));
  return v.get<std::string>();
}

// A command-line integer in [lo, hi]: the whole text in decimal, so "12abc", "1.9", " 3", "" and values beyond
// int64 are errors that name `what` rather than a truncated or wrapped number.
inline int64_t int_from_text(std::string_view text, std::string_view what,
                             int64_t lo = std::numeric_limits<int64_t>::min(),
                             int64_t hi = std::numeric_limits<int64_t>::max()) {
  int64_t x = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, x);
  SINKLAB_CHECK(ec != std::errc::result_out_of_range, what, ": ", text, " is out of range [", lo, ", ", hi, "]");
  SINKLAB_CHECK(ec == std::errc() && ptr == end, what, ": expected an integer, got '", text, "'");
  SINKLAB_CHECK(x >= lo && x <= hi, what, ": ", x, " is out of range [", lo, ", ", hi, "]");
  return x;
}

// A finite command-line number: the whole text ("0.3", "1e-4"); "0.3x", "nan" and "inf" are errors naming `what`.
inline double number_from_text(std::string_view text, std::string_view what) {
  double x = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, x);
  SINKLAB_CHECK(ec == std::errc() && ptr == end && std::isfinite(x), what, ": expected a finite number, got '", text,
                "'");
  return x;
}

}  // namespace sinklab::io
