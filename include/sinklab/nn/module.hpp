#pragma once
// Parameters and initialisation shared by every layer. A layer exposes its parameters as NamedParam handles
// (Var is a shared handle, so the list aliases the layer's own tensors) under Hugging Face LLaMA names.
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sinklab/autograd/var.hpp"

namespace sinklab::nn {

using autograd::Var;

template <class T, class D = Cpu>
struct NamedParam {
  std::string name;
  Var<T, D> var;
  bool is_matrix = false;  // weight decay "matrices only" applies to these (embeddings and linear weights)
};

template <class T, class D = Cpu>
using ParamList = std::vector<NamedParam<T, D>>;

// FNV-1a of the parameter name: each parameter draws from its own Philox stream, so adding a layer does not
// change the initial values of the others, and initialisation is independent of construction order.
inline uint64_t name_stream(std::string_view name) {
  uint64_t h = 1469598103934665603ull;
  for (char c : name) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return h;
}

// Parameters are drawn on the host, so every device starts from the same values, and then placed on D.
template <class D, class T>
Tensor<T, D> on_device(const Tensor<T>& host) {
  return autograd::TensorOps<D>::from_host(host);
}

enum class InitScheme { TinyLlama, PyTorch };

struct InitContext {
  uint64_t seed = 0;
  InitScheme scheme = InitScheme::TinyLlama;
  int64_t n_layers = 1;
};

template <class T, class D = Cpu>
Var<T, D> make_param(const std::string& name, Shape shape, double std, const InitContext& ctx) {
  return Var<T, D>(on_device<D>(Tensor<T>::randn(std::move(shape), ctx.seed, std, 0.0, name_stream(name))), true, name);
}
template <class T, class D = Cpu>
Var<T, D> make_uniform_param(const std::string& name, Shape shape, double bound, const InitContext& ctx) {
  return Var<T, D>(on_device<D>(Tensor<T>::uniform(std::move(shape), ctx.seed, -bound, bound, name_stream(name))), true,
                   name);
}
template <class T, class D = Cpu>
Var<T, D> make_const_param(const std::string& name, Shape shape, T value) {
  return Var<T, D>(autograd::TensorOps<D>::full(std::move(shape), value), true, name);
}

// Linear weight (out, in): TinyLlama N(0, √(2/(5·fan_in))) (small-init, Nguyen & Salazar 2019);
// PyTorch's default U(±1/√fan_in). `std_override` > 0 replaces the TinyLlama std (scaled output projections).
template <class T, class D = Cpu>
Var<T, D> init_linear_weight(const std::string& name, int64_t out, int64_t in, const InitContext& ctx,
                          double std_override = 0) {
  if (ctx.scheme == InitScheme::PyTorch)
    return make_uniform_param<T, D>(name, {out, in}, 1.0 / std::sqrt(double(in)), ctx);
  const double std = std_override > 0 ? std_override : std::sqrt(2.0 / (5.0 * double(in)));
  return make_param<T, D>(name, {out, in}, std, ctx);
}

}  // namespace sinklab::nn
