#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "naive_llama.hpp"
#include "sinklab/probe/llama2c.hpp"
#include "sinklab/nn/llama.hpp"

using namespace sinklab;

// stories260K (llama2.c legacy export): our loader + LlamaModel against a naive forward that reads the file's
// float layout itself (offsets written out here from llama2.c's run.c, not taken from our loader).
TEST_CASE("llama2.c: stories260K logits match an independent naive forward", "[nn][data]") {
  const std::string path = std::string(SINKLAB_SHARED_DATA) + "/weights/stories260K/stories260K.bin";
  if (!std::filesystem::exists(path)) {
    WARN("skipped: " << path << " not found");
    return;
  }
  std::ifstream f(path, std::ios::binary);
  int32_t h[7];
  f.read(reinterpret_cast<char*>(h), 28);
  std::vector<float> w((std::filesystem::file_size(path) - 28) / 4);
  f.read(reinterpret_cast<char*>(w.data()), w.size() * 4);
  const int dim = h[0], hidden = h[1], L = h[2], heads = h[3], kvh = h[4], vocab = h[5];
  REQUIRE(dim == 64);
  const int hd = dim / heads, kvd = kvh * hd;
  // run.c memory_map_weights order.
  std::map<std::string, const float*> W;
  const float* p = w.data();
  W["model.embed_tokens.weight"] = p, p += vocab * dim;
  const float* rms_att = p; p += L * dim;
  const float* wq = p; p += L * dim * dim;
  const float* wk = p; p += L * kvd * dim;
  const float* wv = p; p += L * kvd * dim;
  const float* wo = p; p += L * dim * dim;
  const float* rms_ffn = p; p += L * dim;
  const float* w1 = p; p += L * hidden * dim;
  const float* w2 = p; p += L * dim * hidden;
  const float* w3 = p; p += L * hidden * dim;
  W["model.norm.weight"] = p;
  for (int l = 0; l < L; ++l) {
    const std::string s = "model.layers." + std::to_string(l) + ".";
    W[s + "input_layernorm.weight"] = rms_att + l * dim;
    W[s + "self_attn.q_proj.weight"] = wq + l * dim * dim;
    W[s + "self_attn.k_proj.weight"] = wk + l * kvd * dim;
    W[s + "self_attn.v_proj.weight"] = wv + l * kvd * dim;
    W[s + "self_attn.o_proj.weight"] = wo + l * dim * dim;
    W[s + "post_attention_layernorm.weight"] = rms_ffn + l * dim;
    W[s + "mlp.gate_proj.weight"] = w1 + l * hidden * dim;
    W[s + "mlp.down_proj.weight"] = w2 + l * dim * hidden;
    W[s + "mlp.up_proj.weight"] = w3 + l * hidden * dim;
  }
  naive::Config nc{vocab, dim, hidden, L, heads, kvh};
  nc.interleaved = true, nc.tied = true;
  const std::vector<int> toks = {1, 403, 407, 261, 378, 410, 300, 259, 286, 429, 271, 50, 380, 263, 311, 1, 2, 100};
  const auto ref = naive::forward(nc, [&](const std::string& n) { return W.at(n); }, toks);

  const auto m = probe::load_llama2c(path);
  CHECK(m.config.n_kv_heads == 4);
  CHECK(m.config.tie_embeddings);
  nn::LlamaModel<float> model(m.config);
  auto params = model.parameters();
  nn::load_state_dict(params, m.state, path);
  Tensor<int32_t> ids({1, int64_t(toks.size())});
  for (std::size_t t = 0; t < toks.size(); ++t) ids.data()[t] = toks[t];
  const auto logits = model.forward(ids).value();
  double max_diff = 0, max_abs = 0;
  for (std::size_t t = 0; t < toks.size(); ++t)
    for (int v = 0; v < vocab; ++v) {
      max_diff = std::max(max_diff, std::abs(ref[t][v] - double(logits[{0, int64_t(t), v}])));
      max_abs = std::max(max_abs, std::abs(ref[t][v]));
    }
  INFO("max |diff| " << max_diff << " of max |logit| " << max_abs);
  CHECK(max_diff < 1e-3);
  // A real model: after "Once upon a" style BOS context, predictions are far from uniform.
  CHECK(max_abs > 5.0);
}

TEST_CASE("llama2.c: malformed files give errors naming the file", "[nn]") {
  const auto tmp = std::filesystem::temp_directory_path() / "sinklab_bad_llama2c.bin";
  {
    std::ofstream f(tmp, std::ios::binary);
    int32_t h[7] = {64, 172, 5, 8, 4, 512, 512};
    f.write(reinterpret_cast<char*>(h), 28);
    f.write("abcd", 4);
  }
  CHECK_THROWS_WITH(probe::load_llama2c(tmp.string()), Catch::Contains(tmp.string()) && Catch::Contains("does not match"));
  std::filesystem::remove(tmp);
}
