#pragma once
// Reader for llama2.c's legacy "v0" export (Karpathy, llama2.c `export.py --version 0`): a 7 × int32 header
// (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len; vocab_size < 0 means an untied classifier
// follows), then fp32 tensors stacked over layers, matrices (out, in) row-major. RoPE rotates interleaved pairs.
// Produces a ModelConfig and tensors under our (Hugging Face) names, so LlamaModel runs it unchanged.
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "sinklab/nn/config.hpp"
#include "sinklab/nn/state.hpp"

namespace sinklab::probe {

struct Llama2cModel {
  nn::ModelConfig config;
  nn::StateDict<float> state;
};

inline Llama2cModel load_llama2c(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  SINKLAB_CHECK(f, path, ": cannot open llama2.c model");
  const int64_t bytes = f.tellg();
  f.seekg(0);
  SINKLAB_CHECK(bytes >= 28, path, ": file of ", bytes, " bytes is too short for a llama2.c header (28 bytes)");
  int32_t h[7];
  f.read(reinterpret_cast<char*>(h), sizeof h);
  const int64_t dim = h[0], hidden = h[1], L = h[2], heads = h[3], kv_heads = h[4], seq = h[6];
  const bool shared = h[5] > 0;
  const int64_t vocab = shared ? h[5] : -int64_t(h[5]);
  SINKLAB_CHECK(dim > 0 && hidden > 0 && L > 0 && heads > 0 && kv_heads > 0 && seq > 0 && vocab > 0 &&
                    dim % heads == 0 && heads % kv_heads == 0,
                path, ": implausible llama2.c header (dim ", dim, ", hidden_dim ", hidden, ", n_layers ", L, ", n_heads ",
                heads, ", n_kv_heads ", kv_heads, ", vocab_size ", h[5], ", seq_len ", seq, ")");
  const int64_t hd = dim / heads, kv_dim = kv_heads * hd;
  const int64_t floats = vocab * dim + L * dim + L * dim * dim + 2 * L * kv_dim * dim + L * dim * dim + L * dim +
                         3 * L * hidden * dim + dim + seq * hd /* freq_cis real + imag: 2 × seq × hd/2 */ +
                         (shared ? 0 : vocab * dim);
  SINKLAB_CHECK(bytes == 28 + 4 * floats, path, ": size ", bytes, " bytes does not match the header (expected ",
                28 + 4 * floats, " bytes for this configuration)");

  Llama2cModel m;
  auto& c = m.config;
  c.vocab_size = vocab;
  c.d_model = dim;
  c.n_layers = L;
  c.n_heads = heads;
  c.n_kv_heads = kv_heads;
  c.d_ff = hidden;
  c.max_seq_len = seq;
  c.ffn = nn::FfnKind::SwiGLU;
  c.norm = nn::NormKind::RMSNorm;
  c.norm_eps = 1e-5;
  c.pos = nn::PosKind::RoPE;
  c.rope_interleaved = true;
  c.tie_embeddings = shared;
  c.attention = "softmax";

  auto read = [&](Shape shape) {
    Tensor<float> t(std::move(shape));
    f.read(reinterpret_cast<char*>(t.data()), t.numel() * 4);
    SINKLAB_CHECK(f, path, ": truncated while reading tensors");
    return t;
  };
  auto stacked = [&](const std::string& suffix, Shape per_layer) {
    Shape s = per_layer;
    s.insert(s.begin(), L);
    const Tensor<float> all = read(s);
    for (int64_t l = 0; l < L; ++l)
      m.state["model.layers." + std::to_string(l) + "." + suffix] = all.slice(0, l, l + 1).reshape(per_layer).clone();
  };
  m.state["model.embed_tokens.weight"] = read({vocab, dim});
  stacked("input_layernorm.weight", {dim});
  stacked("self_attn.q_proj.weight", {dim, dim});
  stacked("self_attn.k_proj.weight", {kv_dim, dim});
  stacked("self_attn.v_proj.weight", {kv_dim, dim});
  stacked("self_attn.o_proj.weight", {dim, dim});
  stacked("post_attention_layernorm.weight", {dim});
  stacked("mlp.gate_proj.weight", {hidden, dim});  // w1
  stacked("mlp.down_proj.weight", {dim, hidden});  // w2
  stacked("mlp.up_proj.weight", {hidden, dim});    // w3
  m.state["model.norm.weight"] = read({dim});
  read({seq, hd});  // freq_cis real and imag (seq × hd/2 each): llama2.c recomputes them, and so do we
  if (!shared) m.state["lm_head.weight"] = read({vocab, dim});
  return m;
}

}  // namespace sinklab::probe
