#pragma once
// Loading named tensors into a model's parameters. Errors name the tensor and both shapes; a missing or
// unexpected name is an error (strict), so a checkpoint never loads half-way silently.
#include <map>
#include <string>

#include "sinklab/nn/module.hpp"

namespace sinklab::nn {

template <class T>
using StateDict = std::map<std::string, Tensor<T>>;

template <class T>
StateDict<T> state_dict(const ParamList<T>& params) {
  StateDict<T> out;
  for (const auto& p : params) out[p.name] = p.var.value();
  return out;
}

// Copies values into the parameters (the model keeps its own buffers). `source` names the file for errors.
template <class T>
void load_state_dict(ParamList<T>& params, const StateDict<T>& state, const std::string& source = "state") {
  for (auto& p : params) {
    auto it = state.find(p.name);
    SINKLAB_CHECK(it != state.end(), source, ": missing tensor '", p.name, "' of shape ", to_string(p.var.shape()));
    SINKLAB_CHECK(it->second.shape() == p.var.shape(), source, ": tensor '", p.name, "' has shape ",
                  to_string(it->second.shape()), " but the model expects ", to_string(p.var.shape()));
  }
  for (const auto& [name, t] : state) {
    bool known = false;
    for (const auto& p : params) known = known || p.name == name;
    SINKLAB_CHECK(known, source, ": unexpected tensor '", name, "' (not a parameter of this model)");
  }
  for (auto& p : params) p.var.mutable_value().copy_(state.at(p.name));
}

}  // namespace sinklab::nn
