// LlamaModel<float, Cuda> against LlamaModel<float, Cpu>: the same parameters, the same batch; logits, loss and
// every parameter's gradient, then AdamW with clipping for a few steps on each device, for variants that exercise
// every kind of policy tensor (none; a sink logit; gates; a feature map with saved features; a learned temperature;
// a K/V slot). One source, two builds as test_autograd_cuda.cu: on a GPU (label gpu) and on the emulator (label
// cpu, in CI), where the fused attention runs the CUDA kernels' source (src/cuda/emu/).
//
// Tolerances: fp32 on both devices with different summation orders (attention's tiles, the GEMMs' k order, block
// reductions). Logits and loss: rtol 1e-4. Gradients: rtol 1e-3 of each tensor's largest entry (the attention
// backward's sums are long). Training losses over 8 AdamW steps (loss ≈ 3.9 → 0.24–0.85): 1e-4 relative;
// measured on the emulator, 8.3e-7 at worst over the seven cases.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "sinklab/backend/cuda/tensor_ops.cuh"
#include "sinklab/nn/llama.hpp"
#include "sinklab/optim/adamw.hpp"
#include "sinklab/optim/clip.hpp"
#include "support/check_close.hpp"

using namespace sinklab;

namespace {
nn::ModelConfig tiny(const std::string& variant, nn::BiasSlot slot = nn::BiasSlot::None) {
  nn::ModelConfig c;
  c.vocab_size = 40;
  c.d_model = 64;
  c.n_layers = 2;
  c.n_heads = 2;
  c.max_seq_len = 16;
  c.attention = variant;
  c.slot = slot;
  c.seed = 7;
  return c;
}
std::vector<double> host(const Tensor<float>& t) {
  const auto v = t.contiguous().to_vector();
  return {v.begin(), v.end()};
}
std::vector<double> host(const Tensor<float, Cuda>& t) { return host(t.to_host()); }
// Each entry within rtol of the tensor's largest magnitude: gradients of attention parameters have entries near
// zero whose relative error says nothing.
void check_scaled(const std::vector<double>& got, const std::vector<double>& want, double rtol, const std::string& what) {
  double scale = 0;
  for (double w : want) scale = std::max(scale, std::abs(w));
  test::check_close(got, want, 0.0, rtol * std::max(scale, 1e-30), what);
}
Tensor<int32_t> tokens(int64_t b, int64_t s, int64_t vocab, int64_t shift) {
  std::vector<int32_t> v(std::size_t(b * s));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = int32_t((i * 11 + 5 + shift) % vocab);
  return Tensor<int32_t>::from({b, s}, v);
}
}  // namespace

TEST_CASE("a LlamaModel on CUDA computes what it computes on the CPU, and trains the same", "[gpu][nn][train]") {
  const std::vector<std::pair<std::string, nn::BiasSlot>> cases = {
      {"softmax", nn::BiasSlot::None},         {"sigmoid", nn::BiasSlot::None},
      {"softmax_sink", nn::BiasSlot::None},    {"gated_attention", nn::BiasSlot::None},
      {"kernel_elu_norm", nn::BiasSlot::None}, {"softmax_temperature", nn::BiasSlot::None},
      {"softmax", nn::BiasSlot::KV}};
  for (const auto& [variant, slot] : cases) {
    const std::string name = variant + (slot == nn::BiasSlot::KV ? " (KV slot)" : "");
    INFO(name);
    const auto cfg = tiny(variant, slot);
    nn::LlamaModel<float, Cpu> cpu(cfg);
    nn::LlamaModel<float, Cuda> gpu(cfg);
    auto pc = cpu.parameters();
    auto pg = gpu.parameters();
    REQUIRE(pc.size() == pg.size());
    for (std::size_t i = 0; i < pc.size(); ++i) {
      REQUIRE(pc[i].name == pg[i].name);
      REQUIRE(host(pg[i].var.value()) == host(pc[i].var.value()));  // the same initial values, to the bit
    }
    const auto in = tokens(2, 12, cfg.vocab_size, 0), target = tokens(2, 12, cfg.vocab_size, 1);

    // one forward and backward
    const auto logits_c = cpu.forward(in);
    const auto logits_g = gpu.forward(in);
    test::check_close(host(logits_g.value()), host(logits_c.value()), 1e-4, 1e-5, name + ": logits");
    const auto loss_c = cpu.loss(in, target);
    const auto loss_g = gpu.loss(in, target);
    CHECK(std::abs(loss_g.item() - loss_c.item()) <= 1e-4 * std::abs(loss_c.item()));
    loss_c.backward();
    loss_g.backward();
    for (std::size_t i = 0; i < pc.size(); ++i) {
      REQUIRE(pc[i].var.has_grad() == pg[i].var.has_grad());
      if (pc[i].var.has_grad())
        check_scaled(host(pg[i].var.grad()), host(pc[i].var.grad()), 1e-3, name + ": d" + pc[i].name);
    }

    // AdamW with clipping, a few steps on each device
    optim::AdamWConfig ac;
    optim::AdamW<float, Cpu> opt_c(pc, ac);
    optim::AdamW<float, Cuda> opt_g(pg, ac);
    double worst = 0, first = 0, last = 0;
    for (int step = 0; step < 8; ++step) {
      for (auto& p : pc) p.var.zero_grad();
      for (auto& p : pg) p.var.zero_grad();
      const auto lc = cpu.loss(in, target);
      const auto lg = gpu.loss(in, target);
      lc.backward();
      lg.backward();
      const double nc = optim::clip_grad_norm(pc, 1.0), ng = optim::clip_grad_norm(pg, 1.0);
      CHECK(std::abs(ng - nc) <= 1e-3 * nc);
      opt_c.step(3e-3);
      opt_g.step(3e-3);
      worst = std::max(worst, std::abs(double(lg.item()) - lc.item()) / std::abs(double(lc.item())));
      (step == 0 ? first : last) = lc.item();
    }
    INFO(name << ": cpu loss " << first << " → " << last << "; worst relative difference " << worst);
    CHECK(last < first);
    CHECK(worst < 1e-4);
  }
}

TEST_CASE("gradient norm and the non-finite search agree across devices, huge gradients included", "[gpu][optim]") {
  // Σg² of 1e20s overflows fp32 (the device's sum) but not double (the CPU's): the norm must still be finite.
  for (float value : {1.5f, 1e20f, NAN, INFINITY}) {
    INFO("gradient entries " << value);
    nn::ParamList<float, Cpu> pc;
    nn::ParamList<float, Cuda> pg;
    for (int i = 0; i < 3; ++i) {
      const std::string name = "w" + std::to_string(i);
      auto grad = Tensor<float>::full({5}, i == 1 ? value : 0.25f);
      pc.push_back({name, autograd::Var<float, Cpu>(Tensor<float>::zeros({5}), true, name), true});
      pg.push_back({name, autograd::Var<float, Cuda>(Tensor<float, Cuda>::zeros({5}), true, name), true});
      pc.back().var.mutable_grad() = grad;
      pg.back().var.mutable_grad() = to_device(grad);
    }
    const double nc = optim::global_grad_norm(pc), ng = optim::global_grad_norm(pg);
    if (std::isnan(nc)) {
      CHECK(std::isnan(ng));
    } else if (std::isinf(nc)) {
      CHECK(ng == nc);
    } else {
      CHECK(std::abs(ng - nc) <= 1e-6 * nc);
    }
    CHECK(optim::first_nonfinite_grad(pg) == optim::first_nonfinite_grad(pc));
  }
}

TEST_CASE("the CUDA model refuses forward traces, which probes take from the CPU model", "[gpu][nn]") {
  nn::LlamaModel<float, Cuda> gpu(tiny("softmax"));
  nn::ForwardTrace<float> trace;
  CHECK_THROWS_WITH(gpu.forward(tokens(1, 4, 40, 0), &trace), Catch::Contains("CPU model"));
}
