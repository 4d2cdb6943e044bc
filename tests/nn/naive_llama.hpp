#pragma once
// An independent, deliberately naive LLaMA forward (per token, per head, plain loops in double) used to check
// nn::LlamaModel. Weights come from a lookup by Hugging Face name; matrices are (out, in) row-major.
#include <cmath>
#include <functional>
#include <string>
#include <vector>

namespace naive {

struct Config {
  int vocab, dim, hidden, layers, heads, kv_heads;
  double eps = 1e-5, rope_base = 10000;
  bool interleaved = false, tied = false;
};

using Getter = std::function<const float*(const std::string&)>;
using Vec = std::vector<double>;

inline Vec matvec(const float* w, const Vec& x, int out) {
  Vec y(out, 0.0);
  const int in = static_cast<int>(x.size());
  for (int i = 0; i < out; ++i)
    for (int j = 0; j < in; ++j) y[i] += double(w[i * in + j]) * x[j];
  return y;
}

inline Vec rmsnorm(const Vec& x, const float* w, double eps) {
  double ss = 0;
  for (double v : x) ss += v * v;
  const double r = 1.0 / std::sqrt(ss / x.size() + eps);
  Vec y(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = x[i] * r * double(w[i]);
  return y;
}

// Rotates one head vector at position pos: pairs (2i, 2i+1) when interleaved, (i, i + d/2) otherwise.
inline void rope(double* v, int d, int pos, double base, bool interleaved) {
  for (int i = 0; i < d / 2; ++i) {
    const double theta = pos * std::pow(base, -2.0 * i / d);
    const int a = interleaved ? 2 * i : i, b = interleaved ? 2 * i + 1 : i + d / 2;
    const double x = v[a], y = v[b];
    v[a] = x * std::cos(theta) - y * std::sin(theta);
    v[b] = x * std::sin(theta) + y * std::cos(theta);
  }
}

// Logits (T × vocab) for one sequence, causal softmax attention.
inline std::vector<Vec> forward(const Config& c, const Getter& W, const std::vector<int>& tokens) {
  const int T = static_cast<int>(tokens.size()), hd = c.dim / c.heads, kvd = c.kv_heads * hd;
  std::vector<Vec> x(T);
  for (int t = 0; t < T; ++t) {
    const float* e = W("model.embed_tokens.weight") + tokens[t] * c.dim;
    x[t] = Vec(e, e + c.dim);
  }
  for (int l = 0; l < c.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    std::vector<Vec> q(T), k(T), v(T);
    for (int t = 0; t < T; ++t) {
      const Vec h = rmsnorm(x[t], W(p + "input_layernorm.weight"), c.eps);
      q[t] = matvec(W(p + "self_attn.q_proj.weight"), h, c.dim);
      k[t] = matvec(W(p + "self_attn.k_proj.weight"), h, kvd);
      v[t] = matvec(W(p + "self_attn.v_proj.weight"), h, kvd);
      for (int hh = 0; hh < c.heads; ++hh) rope(&q[t][hh * hd], hd, t, c.rope_base, c.interleaved);
      for (int hh = 0; hh < c.kv_heads; ++hh) rope(&k[t][hh * hd], hd, t, c.rope_base, c.interleaved);
    }
    for (int t = 0; t < T; ++t) {
      Vec o(c.dim, 0.0);
      for (int hh = 0; hh < c.heads; ++hh) {
        const int kh = hh / (c.heads / c.kv_heads);
        Vec s(t + 1);
        double mx = -1e300;
        for (int j = 0; j <= t; ++j) {
          double d = 0;
          for (int i = 0; i < hd; ++i) d += q[t][hh * hd + i] * k[j][kh * hd + i];
          s[j] = d / std::sqrt(double(hd));
          mx = std::max(mx, s[j]);
        }
        double z = 0;
        for (auto& sj : s) z += (sj = std::exp(sj - mx));
        for (int j = 0; j <= t; ++j)
          for (int i = 0; i < hd; ++i) o[hh * hd + i] += s[j] / z * v[j][kh * hd + i];
      }
      const Vec ao = matvec(W(p + "self_attn.o_proj.weight"), o, c.dim);
      for (int i = 0; i < c.dim; ++i) x[t][i] += ao[i];
    }
    for (int t = 0; t < T; ++t) {
      const Vec h = rmsnorm(x[t], W(p + "post_attention_layernorm.weight"), c.eps);
      Vec g = matvec(W(p + "mlp.gate_proj.weight"), h, c.hidden), u = matvec(W(p + "mlp.up_proj.weight"), h, c.hidden);
      for (int i = 0; i < c.hidden; ++i) g[i] = g[i] / (1 + std::exp(-g[i])) * u[i];
      const Vec d = matvec(W(p + "mlp.down_proj.weight"), g, c.dim);
      for (int i = 0; i < c.dim; ++i) x[t][i] += d[i];
    }
  }
  std::vector<Vec> logits(T);
  for (int t = 0; t < T; ++t) {
    const Vec h = rmsnorm(x[t], W("model.norm.weight"), c.eps);
    logits[t] = matvec(W(c.tied ? "model.embed_tokens.weight" : "lm_head.weight"), h, c.vocab);
  }
  return logits;
}

}  // namespace naive
