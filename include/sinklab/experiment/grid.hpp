#pragma once
// An experiment grid: a base pretrain config, arms (named lists of config overrides) and seeds; every (arm, seed)
// is one `sinklab-pretrain` run. The file is JSON, checked strictly before anything runs: unknown keys (with the
// nearest valid one), duplicate or unsafe arm names, empty or repeated seeds, a base config that is not there.
//
//   {"name": "sink_emergence", "title": "...", "description": "...",
//    "base": "../configs/tasks/bbc_1layer.json",         // relative to the grid file
//    "set": {"train.steps": 600},                        // every arm (optional)
//    "arms": [{"name": "softmax", "set": {"model.attention": "softmax"}}, ...],
//    "seeds": [1, 2, 3],
//    "seed_keys": ["model.seed", "train.seed"],          // set to the seed (this is the default)
//    "metrics": ["loss", "val_loss", "sink1"],           // metrics.jsonl keys to tabulate; "key[i]" for a list entry
//    "primary": "sink1"}                                 // the headline figures' metric (default: the first metric)
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "sinklab/core/error.hpp"
#include "sinklab/io/config.hpp"
#include "sinklab/io/nearest.hpp"

namespace sinklab::experiment {

namespace fs = std::filesystem;

// Config overrides in order, as dotted key and JSON value; later entries win. Within one "set" object the keys come
// in sorted order (JSON objects have none of their own), which puts "model" before "model.attention".
using Overrides = std::vector<std::pair<std::string, io::Json>>;

struct Arm {
  std::string name;
  Overrides set;
};

struct Grid {
  fs::path file;  // where it was read from: errors name it, relative paths start at its directory
  io::Json json;  // the file as written, copied into results.json
  std::string name, title, description;
  fs::path base;  // the pretrain config, resolved against the grid file's directory
  Overrides set;
  std::vector<Arm> arms;
  std::vector<int64_t> seeds;
  std::vector<std::string> seed_keys = {"model.seed", "train.seed"};
  std::vector<std::string> metrics;  // empty: every numeric metric the runs log
  std::string primary;               // empty only when metrics is empty (then the first metric found)
};

// A metric as requested: "loss" or "sink[0]" (entry 0 of a list-valued key).
struct MetricRef {
  std::string key;
  std::optional<std::size_t> index;
};

// Keys the runner sets on every run itself; a grid's value for them would be silently overridden, so it is refused.
inline constexpr std::string_view kRunnerKeys[] = {"run_dir", "train.threads"};

// Letters, digits, '.', '_', '-'; not starting with '.': a directory name on every filesystem, never "..".
inline bool is_safe_name(std::string_view s) {
  if (s.empty() || s.size() > 100 || s.front() == '.') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  });
}

// "sink[3]" -> {sink, 3}; "loss" -> {loss}; nullopt when the brackets are malformed.
inline std::optional<MetricRef> parse_metric_ref(std::string_view s) {
  const auto open = s.find('[');
  if (open == std::string_view::npos)
    return s.empty() || s.find(']') != std::string_view::npos ? std::nullopt
                                                              : std::optional<MetricRef>{{std::string(s), {}}};
  if (open == 0 || s.back() != ']' || s.size() < open + 3) return std::nullopt;  // key, '[', digits, ']'
  const std::string_view digits = s.substr(open + 1, s.size() - open - 2);
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }) || digits.size() > 9)
    return std::nullopt;
  return MetricRef{std::string(s.substr(0, open)), std::stoul(std::string(digits))};
}

namespace detail {
// Fails on a key of `obj` outside `allowed`, naming `where` and the nearest allowed key.
inline void check_known_keys(const io::Json& obj, std::initializer_list<const char*> allowed,
                             const std::string& where) {
  for (const auto& [key, _] : obj.items()) {
    if (key == "_comment") continue;  // free text for the reader, as in pretrain configs
    bool known = false;
    for (const char* a : allowed) known = known || key == a;
    if (!known) {
      std::vector<std::string> names(allowed.begin(), allowed.end());
      SINKLAB_FAIL("unknown key '", key, "' in ", where, io::did_you_mean(names, key));
    }
  }
}

inline std::string string_field(const io::Json& obj, const char* key, const std::string& where, bool required) {
  if (!obj.contains(key)) {
    SINKLAB_CHECK(!required, where, ": \"", key, "\" is missing");
    return {};
  }
  SINKLAB_CHECK(obj[key].is_string(), where, ": \"", key, "\" must be a string, got ", obj[key].dump());
  return obj[key].get<std::string>();
}

inline Overrides parse_set(const io::Json& set, const std::string& where, const std::vector<std::string>& seed_keys) {
  SINKLAB_CHECK(set.is_object(), where, ": \"set\" must be an object of \"dotted.key\": value, got ", set.dump());
  Overrides out;
  for (const auto& [key, value] : set.items()) {
    SINKLAB_CHECK(!key.empty() && key.front() != '.' && key.back() != '.' && key.find("..") == std::string::npos &&
                      key.find('=') == std::string::npos,
                  where, ": \"set\" key '", key, "' is not a dotted config key");
    for (std::string_view k : kRunnerKeys)
      SINKLAB_CHECK(key != k, where, ": \"set\" may not set '", key, "': the runner sets it (use --out / --threads)");
    SINKLAB_CHECK(std::find(seed_keys.begin(), seed_keys.end(), key) == seed_keys.end(), where,
                  ": \"set\" may not set '", key, "': it is a seed key, set to each value of \"seeds\"");
    out.emplace_back(key, value);
  }
  return out;
}
}  // namespace detail

// Checks `j` (read from `file`) and returns the grid; every error names the file and the key or arm at fault.
inline Grid parse_grid(const io::Json& j, const fs::path& file) {
  const std::string src = file.string();
  SINKLAB_CHECK(j.is_object(), src, ": a grid must be a JSON object, got ", j.type_name());
  detail::check_known_keys(
      j, {"name", "title", "description", "base", "set", "arms", "seeds", "seed_keys", "metrics", "primary"}, src);
  Grid g;
  g.file = file;
  g.json = j;
  const fs::path dir = file.parent_path();
  g.name = detail::string_field(j, "name", src, true);
  SINKLAB_CHECK(is_safe_name(g.name), src, ": \"name\" '", g.name,
                "' must be a directory name: letters, digits, '.', '_', '-', not starting with '.'");
  g.title = detail::string_field(j, "title", src, false);
  if (g.title.empty()) g.title = g.name;
  g.description = detail::string_field(j, "description", src, false);

  const std::string base = detail::string_field(j, "base", src, true);
  SINKLAB_CHECK(!base.empty(), src, ": \"base\" is empty; name the pretrain config every run starts from");
  g.base = fs::path(base).is_absolute() ? fs::path(base) : (dir / base).lexically_normal();
  SINKLAB_CHECK(fs::is_regular_file(g.base), src, ": base config '", base, "' not found (looked for ", g.base.string(),
                ")");

  if (j.contains("seed_keys")) {
    const auto& sk = j["seed_keys"];
    SINKLAB_CHECK(sk.is_array() && !sk.empty(), src,
                  ": \"seed_keys\" must be a non-empty list of config keys (every seed would train the same run)");
    g.seed_keys.clear();
    for (const auto& k : sk) {
      SINKLAB_CHECK(k.is_string() && !k.get<std::string>().empty(), src, ": \"seed_keys\" entry ", k.dump(),
                    " is not a config key");
      SINKLAB_CHECK(std::find(g.seed_keys.begin(), g.seed_keys.end(), k.get<std::string>()) == g.seed_keys.end(), src,
                    ": \"seed_keys\" names '", k.get<std::string>(), "' twice");
      for (std::string_view r : kRunnerKeys)
        SINKLAB_CHECK(k.get<std::string>() != r, src, ": \"seed_keys\" may not name '", r, "': the runner sets it");
      g.seed_keys.push_back(k.get<std::string>());
    }
  }

  if (j.contains("set")) g.set = detail::parse_set(j["set"], src, g.seed_keys);

  SINKLAB_CHECK(j.contains("arms"), src, ": \"arms\" is missing");
  SINKLAB_CHECK(j["arms"].is_array() && !j["arms"].empty(), src, ": \"arms\" must be a non-empty list");
  std::set<std::string> arm_names;
  for (std::size_t i = 0; i < j["arms"].size(); ++i) {
    const auto& a = j["arms"][i];
    const std::string where = src + " arms[" + std::to_string(i) + "]";
    SINKLAB_CHECK(a.is_object(), where, ": an arm must be an object {\"name\": ..., \"set\": {...}}, got ", a.dump());
    detail::check_known_keys(a, {"name", "set"}, where);
    Arm arm;
    arm.name = detail::string_field(a, "name", where, true);
    SINKLAB_CHECK(is_safe_name(arm.name), where, ": arm name '", arm.name,
                  "' must be a directory name: letters, digits, '.', '_', '-', not starting with '.'");
    SINKLAB_CHECK(arm_names.insert(arm.name).second, where, ": arm name '", arm.name, "' is used twice");
    if (a.contains("set")) arm.set = detail::parse_set(a["set"], where + " ('" + arm.name + "')", g.seed_keys);
    g.arms.push_back(std::move(arm));
  }

  SINKLAB_CHECK(j.contains("seeds"), src, ": \"seeds\" is missing");
  SINKLAB_CHECK(j["seeds"].is_array() && !j["seeds"].empty(), src, ": \"seeds\" must be a non-empty list of integers");
  for (const auto& s : j["seeds"]) {
    SINKLAB_CHECK(s.is_number_integer() && s.get<int64_t>() >= 0, src, ": seed ", s.dump(),
                  " is not a non-negative integer");
    SINKLAB_CHECK(std::find(g.seeds.begin(), g.seeds.end(), s.get<int64_t>()) == g.seeds.end(), src, ": seed ",
                  s.dump(), " is listed twice");
    g.seeds.push_back(s.get<int64_t>());
  }

  if (j.contains("metrics")) {
    SINKLAB_CHECK(j["metrics"].is_array() && !j["metrics"].empty(), src,
                  ": \"metrics\" must be a non-empty list of metrics.jsonl keys (leave it out for every metric)");
    for (const auto& m : j["metrics"]) {
      SINKLAB_CHECK(m.is_string() && parse_metric_ref(m.get<std::string>()), src, ": metric ", m.dump(),
                    " is not a metrics.jsonl key or \"key[i]\"");
      SINKLAB_CHECK(std::find(g.metrics.begin(), g.metrics.end(), m.get<std::string>()) == g.metrics.end(), src,
                    ": metric '", m.get<std::string>(), "' is listed twice");
      g.metrics.push_back(m.get<std::string>());
    }
  }
  g.primary = detail::string_field(j, "primary", src, false);
  if (!g.primary.empty()) {
    SINKLAB_CHECK(parse_metric_ref(g.primary), src, ": \"primary\" '", g.primary, "' is not a metric name");
    SINKLAB_CHECK(g.metrics.empty() || std::find(g.metrics.begin(), g.metrics.end(), g.primary) != g.metrics.end(), src,
                  ": \"primary\" '", g.primary, "' is not one of \"metrics\"", io::did_you_mean(g.metrics, g.primary));
  } else if (!g.metrics.empty()) {
    g.primary = g.metrics.front();
  }
  return g;
}

inline Grid load_grid(const fs::path& file) { return parse_grid(io::load_json(file), file); }

}  // namespace sinklab::experiment
