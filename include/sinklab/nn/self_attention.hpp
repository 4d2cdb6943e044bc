#pragma once
// Multi-head (grouped-query) self-attention with any registered variant. Projections q/k/v/o; RoPE on q and k when
// the positional scheme is RoPE; the variant's learnable pieces (gates as Linear(hidden → heads) + sigmoid, or
// elementwise Linear(hidden → H·D) + sigmoid; a shared vector-norm weight; per-head sink logits; the shared MLP
// feature map) and the sink paper's K / KV / V bias slots are created here when the variant or config needs them.
#include <memory>
#include <type_traits>
#include <string>
#include <utility>
#include <vector>

#include "sinklab/nn/attention_op.hpp"
#include "sinklab/nn/config.hpp"
#include "sinklab/nn/linear.hpp"

namespace sinklab::nn {

template <class T>
struct ForwardTrace;

inline attention::WindowSpec window_spec(const ModelConfig& c) {
  attention::WindowSpec w;
  if (c.window == "causal") w.mask = attention::MaskKind::causal;
  if (c.window == "sliding") w.mask = attention::MaskKind::sliding;
  if (c.window == "prefix") w.mask = attention::MaskKind::prefix;
  if (c.window == "full") w.mask = attention::MaskKind::full;
  w.window = static_cast<int>(c.window_size);
  w.prefix = static_cast<int>(c.prefix_len);
  if (c.pos == PosKind::ALiBi) w.bias = attention::BiasKind::alibi;
  if (c.pos == PosKind::RelativeBucket) w.bias = attention::BiasKind::relative_bucket;
  if (c.slot == BiasSlot::K) w.slot = attention::SlotKind::k;
  if (c.slot == BiasSlot::KV || c.slot == BiasSlot::V) w.slot = attention::SlotKind::kv;
  return w;
}

// On a GPU (D = Cuda) the layer runs the variant's CUDA kernels (AnyAttentionCuda); the CPU registry entry
// still describes the variant (its traits and tensor list). Forward traces for probes are the CPU model's.
template <class T, class D = Cpu>
class SelfAttention {
 public:
  SelfAttention(const std::string& name, const ModelConfig& cfg, const InitContext& ctx)
      : H_(cfg.n_heads),
        Hkv_(cfg.kv_heads()),
        D_(cfg.hdim()),
        rope_(cfg.pos == PosKind::RoPE),
        rope_base_(static_cast<T>(cfg.rope_base)),
        rope_layout_(cfg.rope_interleaved ? autograd::RopeLayout::Interleaved : autograd::RopeLayout::RotateHalf),
        window_(window_spec(cfg)),
        op_(std::make_shared<attention::AnyAttention<T>>(attention::AnyAttention<T>::create(cfg.attention, window_))),
        device_op_(make_device_op(cfg.attention, window_)),
        params_(op_->params()),
        q_(name + ".q_proj", cfg.d_model, H_ * D_, ctx, cfg.bias),
        k_(name + ".k_proj", cfg.d_model, Hkv_ * D_, ctx, cfg.bias),
        v_(name + ".v_proj", cfg.d_model, Hkv_ * D_, ctx, cfg.bias),
        o_(name + ".o_proj", H_ * D_, cfg.d_model, ctx, cfg.bias) {
    const auto& info = op_->traits();
    if (info.out_gate)
      out_gate_ = Linear<T, D>(name + ".out_gate", cfg.d_model, info.out_gate_elementwise ? H_ * D_ : H_, ctx, true);
    if (info.in_gate) in_gate_ = Linear<T, D>(name + ".in_gate", cfg.d_model, H_, ctx, true);
    // The variant's own weights, one per entry of its list (Note [parameter lists]); gates are activations,
    // computed per call from the gate projections above.
    const double slot_std = std::sqrt(2.0 / (5.0 * double(cfg.d_model)));
    for (const attention::ParamSpec& s : params_) {
      if (!s.learnable()) continue;
      const std::string pname = name + "." + std::string(s.checkpoint);
      const Shape shape = s.shape(0, H_, 0, D_);
      Var<T, D> w;
      if (s.key == attention::param::k_slot.key && cfg.slot == BiasSlot::V)
        w = Var<T, D>(autograd::TensorOps<D>::template zeros<T>(shape), false, pname);  // V-bias: the key is fixed at zero, only the value learns
      else if (s.init == attention::Init::zeros || s.init == attention::Init::ones)
        w = make_const_param<T, D>(pname, shape, T(s.init == attention::Init::ones ? 1 : 0));
      else if (s.init == attention::Init::linear)
        w = init_linear_weight<T, D>(pname, shape[0], shape[1], ctx);
      else
        w = make_param<T, D>(pname, shape, slot_std, ctx);
      weights_.emplace_back(s, w);
    }
  }

  // x (B, S, d_model) → (B, S, d_model).
  Var<T, D> operator()(const Var<T, D>& x, ForwardTrace<T>* trace = nullptr) const {
    const int64_t B = x.size(0), S = x.size(1);
    auto heads = [&](const Var<T, D>& y, int64_t n) {  // (B, S, n·D) → (B, n, S, D)
      return autograd::contiguous(autograd::permute(autograd::reshape(y, {B, S, n, D_}), {0, 2, 1, 3}));
    };
    AttentionVars<T, D> in;
    in.q = heads(q_(x), H_);
    in.k = heads(k_(x), Hkv_);
    in.v = heads(v_(x), Hkv_);
    if (rope_) {
      in.q = autograd::rope(in.q, rope_base_, rope_layout_);
      in.k = autograd::rope(in.k, rope_base_, rope_layout_);
    }
    const auto& info = op_->traits();
    Var<T, D> g_out, g_in;
    if (info.out_gate) {
      const Var<T, D> g = autograd::sigmoid(out_gate_(x));  // (B, S, H) or (B, S, H·D)
      g_out = info.out_gate_elementwise ? heads(g, H_) : autograd::contiguous(autograd::permute(g, {0, 2, 1}));
    }
    if (info.in_gate) g_in = autograd::contiguous(autograd::permute(autograd::sigmoid(in_gate_(x)), {0, 2, 1}));
    // in the list's order: gates (activations) where they come, the weights from weights_
    std::size_t wi = 0;
    for (const attention::ParamSpec& s : params_) {
      if (s.learnable())
        in.extra.emplace_back(s, weights_[wi++].second);
      else
        in.extra.emplace_back(s, s.key == attention::param::g_in.key ? g_in : g_out);
    }

    attention::AttentionParams<T> p;
    p.B = static_cast<int>(B), p.H = static_cast<int>(H_), p.Hkv = static_cast<int>(Hkv_), p.S = static_cast<int>(S),
    p.D = static_cast<int>(D_), p.window = window_;
    if constexpr (kOnCuda) {
      SINKLAB_CHECK(!trace, "SelfAttention: forward traces (probes) run on the CPU model; load the weights into one");
      return finish(fused_attention(*device_op_, op_->traits(), p, in), B, S);
    } else {
      if (trace) {
        trace->keys.push_back(in.k.value());
        trace->values.push_back(in.v.value());
        if (trace->want_attention) trace->attention.push_back(attention_weights(*op_, p, in));
        if (trace->want_raw_attention)
          trace->raw_attention.push_back(attention_weights(*op_, p, in, attention::WeightsMode::raw));
      }
      return finish(fused_attention(*op_, p, in), B, S);  // (B, H, S, D) → (B, S, d_model)
    }
  }

  void collect(ParamList<T, D>& out) const {
    q_.collect(out);
    k_.collect(out);
    v_.collect(out);
    o_.collect(out);
    if (out_gate_.weight.defined()) out_gate_.collect(out);
    if (in_gate_.weight.defined()) in_gate_.collect(out);
    for (const auto& [spec, w] : weights_)
      if (w.requires_grad()) out.push_back({w.name(), w, spec.decay});
  }

  const attention::AnyAttention<T>& op() const { return *op_; }

 private:
  static constexpr bool kOnCuda = std::is_same_v<D, Cuda>;
  using DeviceOp = std::conditional_t<kOnCuda, attention::AnyAttentionCuda, attention::AnyAttention<T>>;
  static std::shared_ptr<const DeviceOp> make_device_op(const std::string& name, const attention::WindowSpec& w) {
    if constexpr (kOnCuda) return std::make_shared<const DeviceOp>(DeviceOp::create(name, w));
    else return nullptr;  // the CPU op is op_
  }
  // o (B, H, S, D) → the output projection of (B, S, H·D)
  Var<T, D> finish(const Var<T, D>& o, int64_t B, int64_t S) const {
    return o_(autograd::reshape(autograd::permute(o, {0, 2, 1, 3}), {B, S, H_ * D_}));
  }

  int64_t H_, Hkv_, D_;
  bool rope_;
  T rope_base_;
  autograd::RopeLayout rope_layout_;
  attention::WindowSpec window_;
  std::shared_ptr<const attention::AnyAttention<T>> op_;
  std::shared_ptr<const DeviceOp> device_op_;  // Cuda: the variant's kernels; Cpu: null (op_ runs)
  std::vector<attention::ParamSpec> params_;  // the variant's tensors for this window, looked up once
  Linear<T, D> q_, k_, v_, o_, out_gate_, in_gate_;
  std::vector<std::pair<attention::ParamSpec, Var<T, D>>> weights_;  // the variant's weights, in its list's order
};

}  // namespace sinklab::nn
