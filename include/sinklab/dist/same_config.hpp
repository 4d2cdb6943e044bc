#pragma once
// Every rank of a data-parallel run must train the same run: a rank started with another config file, another
// --set, or another build would compute other gradients (and its collectives would not line up with the others').
// check_same_config compares each rank's resolved config with rank 0's before anything else happens, and fails on
// every rank with the keys that differ.
#include <nlohmann/json.hpp>
#include <string>

#include "sinklab/dist/communicator.hpp"

namespace sinklab::dist {

inline void check_same_config(Communicator& comm, const nlohmann::json& cfg) {
  const auto all = comm.all_gather_bytes(cfg.dump(), "config check");
  const auto reference = nlohmann::json::parse(all[0]);
  for (std::size_t q = 1; q < all.size(); ++q) {
    if (all[q] == all[0]) continue;
    const auto theirs = nlohmann::json::parse(all[q]);
    std::string keys;
    int shown = 0;
    for (const auto& op : nlohmann::json::diff(reference, theirs)) {
      if (shown++ == 3) {
        keys += ", ...";
        break;
      }
      const nlohmann::json::json_pointer at(op["path"].get<std::string>());
      std::string key = at.to_string().substr(1);
      for (auto& c : key)
        if (c == '/') c = '.';
      keys += (keys.empty() ? "" : ", ") + key + " (" + (reference.contains(at) ? reference[at].dump() : "absent") +
              " on rank 0, " + (theirs.contains(at) ? theirs[at].dump() : "absent") + " on rank " +
              std::to_string(q) + ")";
    }
    throw AgreedError("rank " + std::to_string(q) + " was started with a different config than rank 0: " + keys +
                      ". Every rank must get the same --config, --resume and --set arguments");
  }
}

}  // namespace sinklab::dist
