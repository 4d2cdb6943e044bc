#include <catch2/catch.hpp>
#include <cstring>
#include <map>
#include <set>

#include "naive_llama.hpp"
#include "sinklab/io/model_shapes.hpp"
#include "sinklab/nn.hpp"

using namespace sinklab;

TEST_CASE("llama: forward and loss match a naive per-token implementation", "[nn]") {
  for (bool tied : {false, true}) {
    nn::ModelConfig c;
    c.vocab_size = 23, c.d_model = 16, c.n_layers = 2, c.n_heads = 4, c.n_kv_heads = 2, c.d_ff = 24;
    c.max_seq_len = 16, c.tie_embeddings = tied, c.seed = 3;
    nn::LlamaModel<float> model(c);
    std::map<std::string, Tensor<float>> w;
    for (const auto& p : model.parameters()) w[p.name] = p.var.value().contiguous();
    naive::Config nc{23, 16, 24, 2, 4, 2};
    nc.tied = tied;
    const std::vector<int> toks = {3, 7, 1, 22, 0, 5, 9, 9, 14};
    const auto ref = naive::forward(nc, [&](const std::string& n) { return w.at(n).data(); }, toks);
    Tensor<int32_t> ids({1, int64_t(toks.size())});
    for (std::size_t t = 0; t < toks.size(); ++t) ids.data()[t] = toks[t];
    const auto logits = model.forward(ids).value();
    double max_diff = 0;
    for (std::size_t t = 0; t < toks.size(); ++t)
      for (int v = 0; v < 23; ++v) max_diff = std::max(max_diff, std::abs(ref[t][v] - double(logits[{0, int64_t(t), v}])));
    INFO("tied " << tied << " max |diff| " << max_diff);
    CHECK(max_diff < 2e-5);
    // Loss = mean over positions of −log softmax at the next token.
    Tensor<int32_t> in({1, 8}), tg({1, 8});
    double ce = 0;
    for (int t = 0; t < 8; ++t) {
      in.data()[t] = toks[t], tg.data()[t] = toks[t + 1];
      double mx = -1e300, z = 0;
      for (double x : ref[t]) mx = std::max(mx, x);
      for (double x : ref[t]) z += std::exp(x - mx);
      ce += -(ref[t][toks[t + 1]] - mx - std::log(z));
    }
    CHECK(model.loss(in, tg).item() == Approx(ce / 8).epsilon(1e-5));
  }
}

TEST_CASE("llama: config errors name the key", "[nn]") {
  nlohmann::json j = {{"vocab_size", 11}, {"d_model", 10}, {"n_layers", 1}, {"n_heads", 3}};
  CHECK_THROWS_WITH(nn::model_config_from_json(j), Catch::Contains("n_heads"));
  j["n_heads"] = 2;
  j["ffn"] = "swigloo";
  CHECK_THROWS_WITH(nn::model_config_from_json(j), Catch::Contains("model.ffn") && Catch::Contains("swiglu"));
  CHECK_THROWS_WITH(nn::LlamaModel<float>([] {
                      nn::ModelConfig c;
                      c.attention = "softmx";
                      return c;
                    }()),
                    Catch::Contains("softmax"));
}

TEST_CASE("llama: parameter names follow Hugging Face LLaMA", "[nn]") {
  nn::ModelConfig c;
  c.n_layers = 1;
  nn::LlamaModel<float> m(c);
  std::vector<std::string> names;
  for (const auto& p : m.parameters()) names.push_back(p.name);
  for (const char* n : {"model.embed_tokens.weight", "model.layers.0.input_layernorm.weight",
                        "model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.k_proj.weight",
                        "model.layers.0.self_attn.v_proj.weight", "model.layers.0.self_attn.o_proj.weight",
                        "model.layers.0.post_attention_layernorm.weight", "model.layers.0.mlp.gate_proj.weight",
                        "model.layers.0.mlp.up_proj.weight", "model.layers.0.mlp.down_proj.weight", "model.norm.weight",
                        "lm_head.weight"})
    CHECK(std::find(names.begin(), names.end(), n) != names.end());
}

// io/model_shapes.hpp checks a weights file against the tensors it lists before a model is built; the list must be
// exactly the model's parameters, less the variant's own (gates, attention norms, sink logits, slots, feature MLP).
TEST_CASE("llama: the core tensors of io::for_each_core_tensor are the model's", "[nn][shapes]") {
  for (const char* variant : {"softmax", "gated_softmax", "kernel_mlp_norm", "softmax_sink", "softmax_temperature"})
    for (bool tied : {false, true})
      for (bool bias : {false, true})
        for (auto norm : {nn::NormKind::RMSNorm, nn::NormKind::LayerNorm})
          for (auto ffn : {nn::FfnKind::SwiGLU, nn::FfnKind::ReLU})
            for (auto pos : {nn::PosKind::RoPE, nn::PosKind::Learned, nn::PosKind::Sinusoidal})
              for (auto placement : {nn::NormPlacement::Pre, nn::NormPlacement::Post})
                for (auto slot : {nn::BiasSlot::None, nn::BiasSlot::KV}) {
                  nn::ModelConfig c;
                  c.vocab_size = 11, c.d_model = 8, c.n_layers = 2, c.n_heads = 2, c.n_kv_heads = 1, c.d_ff = 16;
                  c.max_seq_len = 8, c.attention = variant, c.tie_embeddings = tied, c.bias = bias, c.norm = norm;
                  c.ffn = ffn, c.pos = pos, c.placement = placement, c.slot = slot;
                  INFO(nn::to_json(c).dump());
                  const nn::LlamaModel<float> model(c);
                  std::map<std::string, Shape> params;
                  for (const auto& p : model.parameters()) params[p.name] = p.var.shape();
                  std::set<std::string> core;
                  io::for_each_core_tensor(c, [&](const std::string& name, const Shape& shape) {
                    INFO(name);
                    REQUIRE(params.count(name));
                    CHECK(params.at(name) == shape);
                    core.insert(name);
                  });
                  // the rest is the gate projections or a weight of the variant's list (slots included)
                  const auto specs = attention::AnyAttention<float>::create(variant, nn::window_spec(c)).params();
                  auto declared = [&](const std::string& name) {
                    for (const auto& sp : specs) {
                      const std::string tail = "." + std::string(sp.checkpoint);
                      if (sp.learnable() && name.size() > tail.size() &&
                          name.compare(name.size() - tail.size(), tail.size(), tail) == 0)
                        return true;
                    }
                    return false;
                  };
                  for (const auto& [name, shape] : params) {
                    if (core.count(name)) continue;
                    INFO(name);
                    CHECK((name.find(".out_gate.") != std::string::npos ||
                           name.find(".in_gate.") != std::string::npos || declared(name)));
                  }
                }
}

// The README's determinism promise at model level: one training step's loss and every gradient are bit-identical
// for 1 and 2 threads (GEMMs with K above Eigen's K block, the fused attention forward/backward, norms, loss).
TEST_CASE("llama: loss and gradients are bit-identical for 1 and 2 threads", "[nn][threads]") {
  for (const char* variant : {"softmax", "gated_softmax", "kernel_mlp_norm"}) {
    INFO(variant);
    nn::ModelConfig c;
    c.vocab_size = 300, c.d_model = 384, c.n_layers = 1, c.n_heads = 4, c.d_ff = 512, c.max_seq_len = 96;
    c.attention = variant;
    auto run = [&](int threads) {
      set_num_threads(threads);
      nn::LlamaModel<float> model(c);
      Tensor<int32_t> in({4, 96}), tg({4, 96});
      for (int64_t i = 0; i < in.numel(); ++i) in.data()[i] = int32_t((i * 7919) % 300), tg.data()[i] = int32_t((i * 104729 + 3) % 300);
      auto loss = model.loss(in, tg);
      loss.backward();
      std::vector<float> out = loss.value().to_vector();
      for (auto& p : model.parameters()) {
        const auto g = p.var.grad().to_vector();
        out.insert(out.end(), g.begin(), g.end());
      }
      set_num_threads(0);
      return out;
    };
    const auto one = run(1), two = run(2);
    REQUIRE(one.size() == two.size());
    CHECK(std::memcmp(one.data(), two.data(), one.size() * sizeof(float)) == 0);
  }
}
