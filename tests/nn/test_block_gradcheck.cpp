#include <catch2/catch.hpp>

#include "sinklab/nn.hpp"

using namespace sinklab;

// Gradcheck (double, central differences) of the LM loss with respect to every parameter of a tiny model, for each
// block variant the pretrain config can select.
static void gradcheck_model(nn::ModelConfig c) {
  c.vocab_size = 7, c.d_model = 8, c.n_layers = 1, c.n_heads = 2, c.d_ff = 8, c.max_seq_len = 8, c.seed = 11;
  nn::LlamaModel<double> model(c);
  auto params = model.parameters();
  std::vector<autograd::Var<double>> vars;
  for (auto& p : params) vars.push_back(p.var);
  const Tensor<int32_t> in = Tensor<int32_t>::from({1, 5}, {1, 4, 2, 6, 0}), tg = Tensor<int32_t>::from({1, 5}, {4, 2, 6, 0, 3});
  const auto r = autograd::gradcheck([&](const std::vector<autograd::Var<double>>&) { return model.loss(in, tg); }, vars,
                                     1e-6, 1e-5, 1e-8);
  INFO(r.report << "max abs err " << r.max_abs_err);
  CHECK(r.ok);
}

TEST_CASE("llama gradcheck: pre-RMSNorm SwiGLU RoPE softmax", "[nn][gradcheck]") { gradcheck_model({}); }

TEST_CASE("llama gradcheck: post-LN, GELU/ReLU/GeGLU FFNs, positional schemes", "[nn][gradcheck]") {
  nn::ModelConfig c;
  c.placement = nn::NormPlacement::Post, c.norm = nn::NormKind::LayerNorm, c.ffn = nn::FfnKind::GELU;
  gradcheck_model(c);
  c = {};
  c.ffn = nn::FfnKind::GeGLU, c.pos = nn::PosKind::Learned, c.tie_embeddings = true, c.bias = true;
  gradcheck_model(c);
  c = {};
  c.ffn = nn::FfnKind::ReLU, c.pos = nn::PosKind::Sinusoidal, c.n_kv_heads = 1, c.init = "pytorch";
  gradcheck_model(c);
  c = {};
  c.ffn = nn::FfnKind::ReGLU, c.pos = nn::PosKind::ALiBi;
  gradcheck_model(c);
  c = {};
  c.ffn = nn::FfnKind::Swish, c.pos = nn::PosKind::RelativeBucket;
  gradcheck_model(c);
  c = {};
  c.pos = nn::PosKind::NoPE;
  gradcheck_model(c);
  c = {};
  c.rope_interleaved = true;  // llama2.c's RoPE layout
  gradcheck_model(c);
}

TEST_CASE("llama gradcheck: bias slots, windows and gated/normalised variants", "[nn][gradcheck]") {
  for (auto slot : {nn::BiasSlot::K, nn::BiasSlot::KV, nn::BiasSlot::V}) {
    nn::ModelConfig c;
    c.slot = slot;
    gradcheck_model(c);
  }
  for (const char* v : {"softmax_sink", "gated_attention", "gated_softmax", "sigmoid_norm", "kernel_mlp_norm",
                        "gated_softmax_no_gate_L2norm_nodivS_noclamp", "linear_elu", "softmax_divS_gate"}) {
    // Detached-denominator variants are left out on purpose: their backward is by definition not the derivative
    // of their forward, so finite differences cannot check them (tests/attention/test_equivalence.cpp does).
    nn::ModelConfig c;
    c.attention = v;
    INFO(v);
    gradcheck_model(c);
  }
  nn::ModelConfig c;
  c.window = "sliding", c.window_size = 2;
  gradcheck_model(c);
  c.window = "prefix", c.prefix_len = 2;
  gradcheck_model(c);
}
