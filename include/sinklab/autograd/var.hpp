#pragma once
// Var<T, Device>: a tensor value with an optional gradient, the handle every autograd op takes and returns. Device
// is Cpu (the default) or Cuda; the tape is shared, and the tensor arithmetic comes from TensorOps<Device>
// (autograd/tensor_ops.hpp).
// Leaves (parameters, inputs) accumulate gradients across backward() calls until zero_grad(); intermediate
// gradients are released once their node has run, unless retain_grad() was called.
#include <functional>
#include <memory>
#include <source_location>
#include <string>
#include <utility>
#include <vector>

#include "sinklab/autograd/tape.hpp"
#include "sinklab/autograd/tensor_ops_cpu.hpp"
#include "sinklab/tensor/tensor.hpp"

namespace sinklab::autograd {

template <class T, class Device = Cpu>
struct VarImpl {
  using Ops = TensorOps<Device>;
  Tensor<T, Device> value;
  // Leaves: the gradient accumulated over backward() calls. Non-leaves: only with retain_grad, likewise accumulated.
  Tensor<T, Device> grad;
  // Non-leaves: the gradient arriving in the backward pass now running; consumed when the node runs, so a later
  // backward() never propagates it a second time.
  Tensor<T, Device> incoming;
  bool requires_grad = false;
  bool retain_grad = false;
  std::shared_ptr<NodeBase> grad_fn;  // null for leaves
  std::string name;

  static void add_into(Tensor<T, Device>& dst, const Tensor<T, Device>& g) { Ops::add_into(dst, g); }

  void accumulate(const Tensor<T, Device>& g) {
    SINKLAB_CHECK(g.shape() == value.shape(), "gradient of shape ", to_string(g.shape()), " for a value of shape ",
                  to_string(value.shape()), name.empty() ? "" : " (", name, name.empty() ? "" : ")");
    add_into(grad_fn ? incoming : grad, g);
  }
  // A temporary that nothing else holds becomes the first gradient as it is, instead of being copied (6 % of a
  // small model's step went to that copy); anything shared is copied as above. The values are the same.
  void accumulate(Tensor<T, Device>&& g) {
    Tensor<T, Device>& dst = grad_fn ? incoming : grad;
    if (!dst.defined() && Ops::sole_owner(g) && g.shape() == value.shape())
      dst = std::move(g);
    else
      accumulate(static_cast<const Tensor<T, Device>&>(g));
  }
};

template <class T, class Device = Cpu>
class Var {
 public:
  using value_type = T;
  using device_type = Device;
  using Impl = VarImpl<T, Device>;

  Var() = default;
  explicit Var(Tensor<T, Device> value, bool requires_grad = false, std::string name = {})
      : p_(std::make_shared<Impl>()) {
    p_->value = std::move(value);
    p_->requires_grad = requires_grad;
    p_->name = std::move(name);
  }

  bool defined() const { return p_ != nullptr; }
  const Tensor<T, Device>& value() const { return p_->value; }
  // Mutable access for optimisers and initialisers; do not change values that a recorded graph still needs.
  Tensor<T, Device>& mutable_value() { return p_->value; }
  const Tensor<T, Device>& grad() const { return p_->grad; }
  Tensor<T, Device>& mutable_grad() { return p_->grad; }
  bool has_grad() const { return p_->grad.defined(); }
  bool requires_grad() const { return p_ && p_->requires_grad; }
  void set_requires_grad(bool on) {
    SINKLAB_CHECK(!p_->grad_fn, "set_requires_grad on a non-leaf Var");
    p_->requires_grad = on;
  }
  bool is_leaf() const { return !p_->grad_fn; }
  void retain_grad() { p_->retain_grad = true; }
  const std::string& name() const { return p_->name; }
  void set_name(std::string n) { p_->name = std::move(n); }

  const Shape& shape() const { return p_->value.shape(); }
  int64_t dim() const { return p_->value.dim(); }
  int64_t size(int axis) const { return p_->value.size(axis); }
  int64_t numel() const { return p_->value.numel(); }
  T item() const { return TensorOps<Device>::item(p_->value); }

  // A leaf that shares the value but not the graph.
  Var detach() const { return Var(p_->value, false); }
  void zero_grad() { p_->grad = Tensor<T, Device>(); }

  // Seeds d(self)/d(self) = 1 (self must be a scalar unless a seed is given) and runs the tape in reverse.
  void backward() const {
    SINKLAB_CHECK(numel() == 1, "backward() without a seed needs a scalar; got shape ", to_string(shape()));
    backward(TensorOps<Device>::full(shape(), T(1)));
  }
  void backward(const Tensor<T, Device>& seed) const {
    SINKLAB_CHECK(p_->requires_grad, "backward() on a Var that does not require grad (no input requires grad, or "
                                     "it was computed under NoGradGuard)");
    p_->accumulate(seed);
    Tape::current().run_backward();
  }

  Impl* impl() const { return p_.get(); }
  const std::shared_ptr<Impl>& impl_ptr() const { return p_; }

 private:
  std::shared_ptr<Impl> p_;
};

// A node of a typed graph: holds its inputs, a weak reference to its output, and the backward closure
// `fn(grad_out)` that calls `accumulate` on the inputs that require grad.
template <class T, class Device = Cpu>
class Node final : public NodeBase {
 public:
  using Backward = std::function<void(const Tensor<T, Device>& grad_out)>;
  Node(const char* name, std::source_location where, std::vector<Var<T, Device>> inputs, Backward fn)
      : NodeBase(name, where), inputs_(std::move(inputs)), fn_(std::move(fn)) {}

  void set_output(const std::shared_ptr<VarImpl<T, Device>>& out) { out_ = out; }

  bool alive() const override { return !out_.expired(); }

  bool run_backward() override {
    auto out = out_.lock();
    if (!out || !out->incoming.defined()) return false;
    const Tensor<T, Device> g = std::move(out->incoming);
    out->incoming = Tensor<T, Device>();
    fn_(g);
    if (out->retain_grad) VarImpl<T, Device>::add_into(out->grad, g);
    return true;
  }

  std::string first_nonfinite_input() const override {
    for (std::size_t i = 0; i < inputs_.size(); ++i) {
      const auto& in = inputs_[i];
      if (!in.requires_grad()) continue;
      const Tensor<T, Device>& fresh = in.is_leaf() ? in.grad() : in.impl()->incoming;
      if (!fresh.defined()) continue;
      if (!TensorOps<Device>::all_finite(fresh))
        return "input " + std::to_string(i) + (in.name().empty() ? "" : " '" + in.name() + "'");
    }
    return {};
  }

 private:
  std::vector<Var<T, Device>> inputs_;
  std::weak_ptr<VarImpl<T, Device>> out_;
  Backward fn_;
};

inline void Tape::run_backward() {
  // Snapshot: backward closures never record (GradMode is off while they run).
  std::vector<std::shared_ptr<NodeBase>> live;
  live.reserve(nodes_.size());
  for (auto& w : nodes_)
    if (auto n = w.lock()) live.push_back(std::move(n));
  const bool prev = GradMode::enabled();
  GradMode::enabled() = false;
  try {
    for (auto it = live.rbegin(); it != live.rend(); ++it) {
      if (!(*it)->run_backward()) continue;
      if (GradMode::anomaly()) {
        const std::string bad = (*it)->first_nonfinite_input();
        SINKLAB_CHECK(bad.empty(), "anomaly: backward of '", (*it)->name(), "' produced a non-finite gradient for ", bad,
                      "; the op was called at ", (*it)->where().file_name(), ':', (*it)->where().line(), " in ",
                      (*it)->where().function_name());
      }
    }
  } catch (...) {
    GradMode::enabled() = prev;
    throw;
  }
  GradMode::enabled() = prev;
  prune();
}

// Records an op: returns a Var holding `value`; when recording is on and some input requires grad, attaches a
// node whose closure receives the output gradient. Ops call this once, after computing their forward.
template <class T, class Device>
Var<T, Device> make_result(const char* name, Tensor<T, Device> value, std::vector<Var<T, Device>> inputs,
                           typename Node<T, Device>::Backward fn, std::source_location where) {
  bool needs = false;
  if (GradMode::enabled())
    for (const auto& in : inputs) needs = needs || in.requires_grad();
  Var<T, Device> out(std::move(value), needs);
  if (needs) {
    auto node = std::make_shared<Node<T, Device>>(name, where, std::move(inputs), std::move(fn));
    node->set_output(out.impl_ptr());
    out.impl()->grad_fn = node;
    Tape::current().push(node);
  }
  return out;
}

// Adds `g` to `v`'s gradient when `v` requires grad; reduces broadcast axes first.
template <class T, class Device>
void accumulate(const Var<T, Device>& v, const Tensor<T, Device>& g) {
  if (!v.requires_grad()) return;
  v.impl()->accumulate(g.shape() == v.shape() ? g : TensorOps<Device>::sum_to(g, v.shape()));
}
// The same for a temporary, which the gradient may adopt instead of copying (VarImpl::accumulate(Tensor&&)).
template <class T, class Device>
void accumulate(const Var<T, Device>& v, Tensor<T, Device>&& g) {
  if (!v.requires_grad()) return;
  if (g.shape() == v.shape())
    v.impl()->accumulate(std::move(g));
  else
    v.impl()->accumulate(TensorOps<Device>::sum_to(g, v.shape()));
}

// Sets every parameter's gradient to "none" (the next backward writes fresh gradients).
template <class T, class Device>
void zero_grad(std::vector<Var<T, Device>>& params) {
  for (auto& p : params) p.zero_grad();
}

}  // namespace sinklab::autograd
