#pragma once
// JSON configs for the apps: load (parse errors give file:line:col, io/strict_parse.hpp), `--set a.b=value`
// overrides, and a check against the defaults object that rejects unknown keys (suggesting the nearest valid one)
// and type mismatches.
// The defaults object *is* the schema: every valid key appears in it with a value of the right type
// (null means "any type").
#include <cstddef>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sinklab/core/error.hpp"
#include "sinklab/io/atomic_file.hpp"
#include "sinklab/io/nearest.hpp"
#include "sinklab/io/strict_parse.hpp"

namespace sinklab::io {

inline Json load_json(const std::filesystem::path& path) { return parse_json(read_text_file(path), path.string()); }

// Applies one "key.sub=value" override; the value is parsed as JSON when it parses (3, true, [1,2], "x"), else it
// is taken as a plain string (so --set model.attention=softmax needs no quotes). Missing objects are created;
// the schema check afterwards rejects keys that do not exist.
inline void apply_override(Json& cfg, std::string_view assignment) {
  const auto eq = assignment.find('=');
  SINKLAB_CHECK(eq != std::string_view::npos && eq > 0, "--set expects key.sub=value, got '", assignment, "'");
  const std::string_view key = assignment.substr(0, eq), text = assignment.substr(eq + 1);
  SINKLAB_CHECK(detail::too_deep_at(text, kMaxJsonDepth) == std::string_view::npos, "--set ", key,
                ": value nested deeper than ", kMaxJsonDepth, " levels");
  Json value = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) value = std::string(text);
  Json* node = &cfg;
  std::size_t start = 0;
  while (true) {
    const auto dot = key.find('.', start);
    const std::string part(key.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    SINKLAB_CHECK(!part.empty(), "--set: empty key component in '", key, "'");
    if (node->is_null()) *node = Json::object();
    SINKLAB_CHECK(node->is_object(), "--set ", key, ": '", part, "' is inside a non-object value");
    node = &(*node)[part];
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  *node = std::move(value);
}

inline void apply_overrides(Json& cfg, std::span<const std::string> assignments) {
  for (const auto& a : assignments) apply_override(cfg, a);
}

namespace detail {
// Whether `v` may stand where the default `d` is; floats accept integers, integers do not accept 0.5.
inline bool type_compatible(const Json& d, const Json& v) {
  if (d.is_null()) return true;
  if (d.is_number_float()) return v.is_number();
  if (d.is_number_integer()) return v.is_number_integer();
  return d.type() == v.type();
}

inline void check_keys(const Json& cfg, const Json& defaults, const std::string& prefix, const std::string& source) {
  for (const auto& [key, v] : cfg.items()) {
    const std::string path = prefix.empty() ? key : prefix + "." + key;
    if (key == "_comment") continue;  // free text for the reader, at any level
    if (!defaults.contains(key)) {
      std::vector<std::string> names;
      for (const auto& [k, _] : defaults.items()) names.push_back(k);
      SINKLAB_FAIL("unknown key '", path, "' in ", source, did_you_mean(names, key));
    }
    const Json& d = defaults.at(key);
    SINKLAB_CHECK(type_compatible(d, v), "key '", path, "' in ", source, " must be ", json_type_name(d), " (like ",
                  json_excerpt(d), ") but is ", json_type_name(v), " ", json_excerpt(v));
    if (d.is_object() && !d.empty()) check_keys(v, d, path, source);
  }
}

inline void merge_into(Json& base, const Json& over) {
  for (const auto& [key, v] : over.items()) {
    if (v.is_object() && base.contains(key) && base[key].is_object())
      merge_into(base[key], v);
    else
      base[key] = v;
  }
}
}  // namespace detail

// Throws on the first key of `cfg` that `defaults` lacks ("unknown key 'train.lr_schdule' in run.json; did you
// mean 'lr_schedule'?") or whose type differs. An empty object default accepts any keys (free-form maps).
inline void check_config(const Json& cfg, const Json& defaults, const std::string& source) {
  SINKLAB_CHECK(cfg.is_object(), source, ": config must be a JSON object, got ", cfg.type_name());
  detail::check_keys(cfg, defaults, "", source);
}

// defaults <- file (checked) <- overrides (checked): the config a run actually uses.
inline Json resolve_config(const Json& defaults, const std::filesystem::path& file,
                           std::span<const std::string> overrides = {}) {
  Json out = defaults;
  if (!file.empty()) {
    const Json cfg = load_json(file);
    check_config(cfg, defaults, file.string());
    detail::merge_into(out, cfg);
  }
  Json sets = Json::object();
  apply_overrides(sets, overrides);
  check_config(sets, defaults, "--set");
  detail::merge_into(out, sets);
  return out;
}

}  // namespace sinklab::io
