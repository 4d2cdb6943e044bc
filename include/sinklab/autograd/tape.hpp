#pragma once
// The tape: every recorded op appends a Node in creation order; backward() walks it in reverse.
// Ownership: a Var's impl owns the Node that produced it (so an unused graph is freed when its outputs die);
// the tape holds weak references only, which keeps forward-only use (evaluation without NoGradGuard) leak-free.
#include <cmath>
#include <memory>
#include <source_location>
#include <string>
#include <vector>

namespace sinklab::autograd {

class NodeBase {
 public:
  NodeBase(const char* name, std::source_location where) : name_(name), where_(where) {}
  virtual ~NodeBase() = default;
  // Propagates the output's gradient into the inputs; returns false when the output received no gradient.
  virtual bool run_backward() = 0;
  // Anomaly mode: the name of the first input whose new gradient holds a NaN/Inf, or empty.
  virtual std::string first_nonfinite_input() const = 0;
  virtual bool alive() const = 0;

  const char* name() const { return name_; }
  const std::source_location& where() const { return where_; }

 private:
  const char* name_;
  std::source_location where_;
};

struct GradMode {
  static bool& enabled() {
    thread_local bool on = true;
    return on;
  }
  static bool& anomaly() {
    thread_local bool on = false;
    return on;
  }
};

// Disables recording for its lifetime (evaluation, optimiser updates).
class NoGradGuard {
 public:
  NoGradGuard() : prev_(GradMode::enabled()) { GradMode::enabled() = false; }
  ~NoGradGuard() { GradMode::enabled() = prev_; }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

// Anomaly mode: backward checks every gradient it produces and names the op's forward call site on NaN/Inf.
class AnomalyGuard {
 public:
  explicit AnomalyGuard(bool on = true) : prev_(GradMode::anomaly()) { GradMode::anomaly() = on; }
  ~AnomalyGuard() { GradMode::anomaly() = prev_; }
  AnomalyGuard(const AnomalyGuard&) = delete;
  AnomalyGuard& operator=(const AnomalyGuard&) = delete;

 private:
  bool prev_;
};

class Tape {
 public:
  static Tape& current() {
    thread_local Tape tape;
    return tape;
  }
  void push(const std::shared_ptr<NodeBase>& n) {
    nodes_.push_back(n);
    if (nodes_.size() >= next_prune_) prune();
  }
  // Drops entries whose graph has been freed; amortised O(1) per push.
  void prune() {
    std::erase_if(nodes_, [](const std::weak_ptr<NodeBase>& w) {
      auto n = w.lock();
      return !n || !n->alive();
    });
    next_prune_ = std::max<std::size_t>(1024, 2 * nodes_.size());
  }
  std::size_t size() const { return nodes_.size(); }
  void clear() { nodes_.clear(); }

  // Runs every live node in reverse creation order.
  void run_backward();

 private:
  std::vector<std::weak_ptr<NodeBase>> nodes_;
  std::size_t next_prune_ = 1024;
};

}  // namespace sinklab::autograd
