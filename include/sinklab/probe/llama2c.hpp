#pragma once
// Reader for llama2.c's legacy "v0" export (Karpathy, llama2.c `export.py --version 0`): a 7 × int32 header
// (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len; vocab_size < 0 means an untied classifier
// follows), then fp32 tensors stacked over layers, matrices (out, in) row-major. RoPE rotates interleaved pairs.
// Produces a ModelConfig and tensors under our (Hugging Face) names, so LlamaModel runs it unchanged.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "sinklab/io/atomic_file.hpp"
#include "sinklab/nn/config.hpp"
#include "sinklab/nn/state.hpp"

namespace sinklab::probe {

struct Llama2cModel {
  nn::ModelConfig config;
  nn::StateDict<float> state;
};

// Every header value is checked (positive, within nn::ModelConfig's limits, n_heads dividing dim, n_kv_heads
// dividing n_heads, an even head size for RoPE) and the file size must be exactly what the header implies, all
// before any tensor is allocated; errors name the file and the header field.
inline Llama2cModel load_llama2c(const std::string& path) {
  io::RegularFile f(path);
  const auto bytes = static_cast<int64_t>(f.size());
  SINKLAB_CHECK(bytes >= 28, path, ": file of ", bytes, " bytes is too short for a llama2.c header (28 bytes)");
  int32_t h[7];
  f.read(h, sizeof h);
  const int64_t dim = h[0], hidden = h[1], L = h[2], heads = h[3], kv_heads = h[4], seq = h[6];
  const bool shared = h[5] > 0;
  const int64_t vocab = shared ? h[5] : -int64_t(h[5]);
  const std::string header = path + ": llama2.c header (dim " + std::to_string(dim) + ", hidden_dim " +
                             std::to_string(hidden) + ", n_layers " + std::to_string(L) + ", n_heads " +
                             std::to_string(heads) + ", n_kv_heads " + std::to_string(kv_heads) + ", vocab_size " +
                             std::to_string(h[5]) + ", seq_len " + std::to_string(seq) + ")";
  using Limits = nn::ModelConfig;
  auto in_range = [&](const char* field, int64_t v, int64_t hi) {
    SINKLAB_CHECK(v >= 1 && v <= hi, header, ": ", field, " = ", v, " is out of range [1, ", hi, "]");
  };
  in_range("dim", dim, Limits::kMaxWidth);
  in_range("hidden_dim", hidden, Limits::kMaxWidth);
  in_range("n_layers", L, Limits::kMaxLayers);
  in_range("n_heads", heads, Limits::kMaxHeads);
  in_range("n_kv_heads", kv_heads, heads);
  in_range("|vocab_size|", vocab, Limits::kMaxVocab);
  in_range("seq_len", seq, Limits::kMaxSeqLen);
  SINKLAB_CHECK(dim % heads == 0, header, ": n_heads does not divide dim");
  SINKLAB_CHECK(heads % kv_heads == 0, header, ": n_kv_heads does not divide n_heads");
  SINKLAB_CHECK((dim / heads) % 2 == 0, header, ": head size dim / n_heads = ", dim / heads,
                " is odd (RoPE rotates pairs)");
  // Within the limits above no product here comes near int64 overflow (each term is below 2^53).
  const int64_t hd = dim / heads, kv_dim = kv_heads * hd;
  const int64_t floats = vocab * dim + L * dim + L * dim * dim + 2 * L * kv_dim * dim + L * dim * dim + L * dim +
                         3 * L * hidden * dim + dim + seq * hd /* freq_cis real + imag: 2 × seq × hd/2 */ +
                         (shared ? 0 : vocab * dim);
  SINKLAB_CHECK(bytes == 28 + 4 * floats, path, ": size ", bytes, " bytes does not match the header (expected ",
                28 + 4 * floats, " bytes for ", header.substr(path.size() + 2), ")");

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
  c.validate(path + ": ");

  auto read = [&](Shape shape) {
    Tensor<float> t(std::move(shape));
    f.read(t.data(), static_cast<std::size_t>(t.numel()) * 4);
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
