#pragma once
// Metrics as JSON Lines: one object per line, flushed per line so a crash loses at most the line being written.
// JSON has no NaN/Inf, and nlohmann would silently write them as null, so non-finite numbers are written as the
// strings "NaN", "Infinity", "-Infinity": pandas.read_json(lines=True) loads them, and
// df[col].astype(float) (or pd.to_numeric) turns them back into nan/inf. read_metrics() restores them as doubles.
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "sinklab/core/error.hpp"
#include "sinklab/io/atomic_file.hpp"

namespace sinklab::io {

namespace detail {
inline nlohmann::json encode_nonfinite(const nlohmann::json& v) {
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isnan(d)) return "NaN";
    if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
    return v;
  }
  if (v.is_structured()) {
    nlohmann::json out = v;
    for (auto it = out.begin(); it != out.end(); ++it) *it = encode_nonfinite(*it);
    return out;
  }
  return v;
}

inline void decode_nonfinite(nlohmann::json& v) {
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (s == "NaN")
      v = std::numeric_limits<double>::quiet_NaN();
    else if (s == "Infinity")
      v = std::numeric_limits<double>::infinity();
    else if (s == "-Infinity")
      v = -std::numeric_limits<double>::infinity();
  } else if (v.is_structured()) {
    for (auto& x : v) decode_nonfinite(x);
  }
}
}  // namespace detail

// Appends (or truncates when append = false) and writes one JSON object per line.
class MetricsWriter {
 public:
  explicit MetricsWriter(std::filesystem::path path, bool append = true) : path_(std::move(path)) {
    if (!path_.parent_path().empty()) std::filesystem::create_directories(path_.parent_path());
    os_.open(path_, append ? std::ios::app : std::ios::trunc);
    SINKLAB_CHECK(os_, "cannot open metrics file '", path_.string(), "'");
  }

  void write(const nlohmann::json& record) {
    SINKLAB_CHECK(record.is_object(), "metrics record must be a JSON object, got ", record.type_name());
    os_ << detail::encode_nonfinite(record).dump() << '\n' << std::flush;
    SINKLAB_CHECK(os_, "write to metrics file '", path_.string(), "' failed");
  }

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::ofstream os_;
};

// Parses every line back (blank lines skipped). A last line without '\n' that does not parse is the remnant of an
// interrupted write and is dropped; a bad line anywhere else is an error naming the line number.
inline std::vector<nlohmann::json> read_metrics(const std::filesystem::path& path, bool restore_nonfinite = true) {
  const std::string text = read_text_file(path);
  std::vector<nlohmann::json> out;
  std::size_t pos = 0, line = 0;
  while (pos < text.size()) {
    ++line;
    const auto nl = text.find('\n', pos);
    const bool complete = nl != std::string::npos;
    const std::string_view s(text.data() + pos, (complete ? nl : text.size()) - pos);
    pos = complete ? nl + 1 : text.size();
    if (s.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    auto v = nlohmann::json::parse(s.begin(), s.end(), nullptr, false);
    if (v.is_discarded()) {
      if (!complete) break;
      SINKLAB_FAIL("metrics file '", path.string(), "' line ", line, ": invalid JSON");
    }
    if (restore_nonfinite) detail::decode_nonfinite(v);
    out.push_back(std::move(v));
  }
  return out;
}

// For resume from a checkpoint taken at step N: keeps records whose `step_key` is <= N (and records without it),
// drops the rest and any partial last line; rewritten atomically. Returns the number of records kept.
inline std::size_t truncate_metrics_after(const std::filesystem::path& path, int64_t step,
                                          const std::string& step_key = "step") {
  if (!std::filesystem::exists(path)) return 0;
  const auto records = read_metrics(path, /*restore_nonfinite=*/false);
  std::ostringstream os;
  std::size_t kept = 0;
  for (const auto& r : records) {
    if (r.is_object() && r.contains(step_key) && r[step_key].is_number() && r[step_key].get<double>() > step) continue;
    os << r.dump() << '\n';
    ++kept;
  }
  write_file_atomic(path, std::string_view(os.str()));
  return kept;
}

}  // namespace sinklab::io
