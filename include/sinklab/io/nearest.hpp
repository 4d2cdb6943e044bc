#pragma once
// "Did you mean ...?" suggestions for config keys and registry names: Levenshtein distance, best matches first.
#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace sinklab::io {

// Edit distance (insert, delete, substitute each cost 1); O(|a||b|) time, O(|b|) memory.
inline std::size_t levenshtein(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// Names within `max_distance` of `s` (default: a third of the longer string, at least 2), closest first, ties in
// input order; at most `max_results`. Empty when nothing is plausibly what was meant.
template <class Range>
std::vector<std::string> nearest(const Range& names, std::string_view s, std::size_t max_results = 3,
                                 std::size_t max_distance = static_cast<std::size_t>(-1)) {
  std::vector<std::pair<std::size_t, std::string>> scored;
  for (const auto& n : names) {
    const std::string_view name(n);
    const std::size_t limit = max_distance != static_cast<std::size_t>(-1)
                                  ? max_distance
                                  : std::max<std::size_t>(2, std::max(name.size(), s.size()) / 3);
    const std::size_t d = levenshtein(name, s);
    if (d <= limit) scored.emplace_back(d, std::string(name));
  }
  std::stable_sort(scored.begin(), scored.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<std::string> out;
  for (std::size_t i = 0; i < scored.size() && i < max_results; ++i) out.push_back(std::move(scored[i].second));
  return out;
}

// "; did you mean 'x'?" or "" — ready to append to an error message.
template <class Range>
std::string did_you_mean(const Range& names, std::string_view s) {
  const auto best = nearest(names, s, 1);
  return best.empty() ? std::string() : "; did you mean '" + best.front() + "'?";
}

}  // namespace sinklab::io
