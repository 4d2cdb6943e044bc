#pragma once
// Loading named tensors into a model's parameters. Errors name the tensor and both shapes; a missing or
// unexpected name is an error (strict), so a checkpoint never loads half-way silently.
#include <cmath>
#include <map>
#include <string>
#include <type_traits>

#include "sinklab/nn/module.hpp"

namespace sinklab::nn {

template <class T>
using StateDict = std::map<std::string, Tensor<T>>;

// Host tensors whatever the device (on the CPU they share the parameters' storage).
template <class T, class D>
StateDict<T> state_dict(const ParamList<T, D>& params) {
  StateDict<T> out;
  for (const auto& p : params) out[p.name] = autograd::TensorOps<D>::to_host(p.var.value());
  return out;
}

// Throws when a parameter holds NaN or Inf, naming the first such tensor and index: a probe of such a model would
// print "mean loss nan" next to a Sink rate that means nothing.
template <class T, class D>
void check_finite(const ParamList<T, D>& params, const std::string& source) {
  for (const auto& p : params) {
    const Tensor<T> v = autograd::TensorOps<D>::to_host(p.var.value()).contiguous();
    for (int64_t i = 0; i < v.numel(); ++i)
      SINKLAB_CHECK(std::isfinite(double(v.data()[i])), source, ": tensor '", p.name, "' holds ", double(v.data()[i]),
                    " at flat index ", i, "; refusing a model with non-finite weights");
  }
}

// Copies values into the parameters (the model keeps its own buffers). `source` names the file for errors.
template <class T, class D>
void load_state_dict(ParamList<T, D>& params, const StateDict<T>& state, const std::string& source = "state") {
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
  for (auto& p : params) autograd::TensorOps<D>::copy_from_host(p.var.mutable_value(), state.at(p.name));
}

}  // namespace sinklab::nn
