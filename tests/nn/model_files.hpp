#pragma once
// Tiny but valid model files written by the tests themselves: a safetensors holding every core tensor of a config
// (io::for_each_core_tensor), and a llama2.c legacy .bin for a 7-int header. Shared by the loader tests and the
// loader fuzz test.
#include <cstdint>
#include <cstring>
#include <vector>

#include "sinklab/io/model_shapes.hpp"

namespace sinklab::test {

// Every core tensor of `c` as F32 (value i * 0.001 at flat index i), as a checkpoint would hold it.
inline io::SafeTensors core_weights(const nn::ModelConfig& c) {
  io::SafeTensors st;
  st.metadata["format"] = "pt";
  io::for_each_core_tensor(c, [&](const std::string& name, const Shape& shape) {
    std::vector<float> v(static_cast<std::size_t>(sinklab::numel(shape)));
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = 0.001f * float(i);
    st.tensors[name] = io::make_float_entry(v, shape);
  });
  return st;
}

// A small config whose core tensors fit in a few kilobytes.
inline nn::ModelConfig tiny_config() {
  nn::ModelConfig c;
  c.vocab_size = 11, c.d_model = 8, c.n_layers = 2, c.n_heads = 2, c.n_kv_heads = 1, c.d_ff = 16, c.max_seq_len = 8;
  return c;
}

// llama2.c header fields, in file order.
struct Llama2cHeader {
  int32_t dim = 8, hidden_dim = 16, n_layers = 2, n_heads = 2, n_kv_heads = 1, vocab_size = 11, seq_len = 4;
};

// Number of floats after the header that `h` implies (llama2.c run.c's layout, including freq_cis).
inline int64_t llama2c_floats(const Llama2cHeader& h) {
  const int64_t dim = h.dim, hidden = h.hidden_dim, L = h.n_layers, hd = h.dim / h.n_heads,
                kv_dim = int64_t(h.n_kv_heads) * hd, vocab = h.vocab_size > 0 ? h.vocab_size : -int64_t(h.vocab_size);
  return vocab * dim + 2 * L * dim + 2 * L * dim * dim + 2 * L * kv_dim * dim + 3 * L * hidden * dim + dim +
         int64_t(h.seq_len) * hd + (h.vocab_size > 0 ? 0 : vocab * dim);
}

// The bytes of a valid llama2.c file for `h`: the header, then float i = i * 0.001.
inline std::vector<std::byte> llama2c_bytes(const Llama2cHeader& h) {
  const int64_t n = llama2c_floats(h);
  std::vector<std::byte> out(28 + 4 * static_cast<std::size_t>(n));
  std::memcpy(out.data(), &h, 28);
  for (int64_t i = 0; i < n; ++i) {
    const float v = 0.001f * float(i);
    std::memcpy(out.data() + 28 + 4 * i, &v, 4);
  }
  return out;
}

}  // namespace sinklab::test
