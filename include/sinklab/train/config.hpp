#pragma once
// Loading a pretrain config: a file may name a "base" config (relative to itself) that it extends by deep merge;
// every layer is checked against the defaults, so an unknown key names its file and the nearest valid key.
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "sinklab/io/config.hpp"
#include "sinklab/train/options.hpp"

namespace sinklab::train {

namespace detail {
// data.train and data.val take one path or a list of them; store the list form so the schema check sees an array.
inline void paths_as_lists(io::Json& cfg) {
  if (!cfg.is_object() || !cfg.contains("data") || !cfg["data"].is_object()) return;
  for (const char* k : {"train", "val"})
    if (cfg["data"].contains(k) && cfg["data"][k].is_string()) cfg["data"][k] = io::Json::array({cfg["data"][k]});
}

inline io::Json load_layered(const std::filesystem::path& file, std::set<std::string>& seen) {
  const std::string key = std::filesystem::weakly_canonical(file).string();
  SINKLAB_CHECK(!seen.count(key), file.string(), ": \"base\" chain loops back to this file");
  seen.insert(key);
  io::Json cfg = io::load_json(file);
  paths_as_lists(cfg);
  io::check_config(cfg, default_config(), file.string());
  io::Json out = io::Json::object();
  if (cfg.contains("base") && !cfg["base"].get<std::string>().empty()) {
    const auto base = file.parent_path() / cfg["base"].get<std::string>();
    SINKLAB_CHECK(std::filesystem::exists(base), file.string(), ": base config '", base.string(), "' not found");
    out = load_layered(base, seen);
  }
  io::detail::merge_into(out, cfg);
  return out;
}

// Paths in data.train / data.val / data.sp_model / data.backcopy.corpus are relative to the file that set them: resolve them against the
// directory of the top-level config, which is where the reference configs keep them relative to.
inline void resolve_paths(io::Json& cfg, const std::filesystem::path& base_dir) {
  auto fix = [&](io::Json& v) {
    if (v.is_string() && !v.get<std::string>().empty()) {
      std::filesystem::path p = v.get<std::string>();
      if (p.is_relative() && !std::filesystem::exists(p) && std::filesystem::exists(base_dir / p))
        v = (base_dir / p).lexically_normal().string();
    }
  };
  for (const char* k : {"train", "val"}) {
    auto& v = cfg["data"][k];
    if (v.is_array())
      for (auto& e : v) fix(e);
    else
      fix(v);
  }
  fix(cfg["data"]["sp_model"]);
  fix(cfg["data"]["backcopy"]["corpus"]);
}
}  // namespace detail

// defaults ← base chain ← file ← --set overrides.
inline io::Json load_config(const std::filesystem::path& file, const std::vector<std::string>& overrides) {
  io::Json out = default_config();
  if (!file.empty()) {
    std::set<std::string> seen;
    io::detail::merge_into(out, detail::load_layered(file, seen));
    detail::resolve_paths(out, file.parent_path());
  }
  io::Json sets = io::Json::object();
  io::apply_overrides(sets, overrides);
  detail::paths_as_lists(sets);
  io::check_config(sets, default_config(), "--set");
  io::detail::merge_into(out, sets);
  out["base"] = "";
  return out;
}

}  // namespace sinklab::train
