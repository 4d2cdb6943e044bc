// Training throughput on the CPU: one optimiser step (forward, backward, global-norm clip, AdamW) of a LLaMA model,
// for the tiny embedded-default shape and the sink paper's 60M shape. Reports tokens/s and achieved GFLOP/s with
// model FLOPs/token = 6·N (N = all parameters, embeddings included) + the attention term 6·L·S·d_model (causal,
// forward 2·S·d per token halved for the mask, ×3 for forward+backward), the convention bench/README.md states.
// train_torch.py runs the same models in PyTorch on the same shapes for the ratio table.
//   ./bench_train --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include "sinklab/nn.hpp"
#include "sinklab/optim.hpp"

using namespace sinklab;

namespace {

struct Shape {
  const char* name;
  int64_t vocab, d_model, layers, heads, d_ff, batch, seq;
};
// tiny: configs/tiny_fortunes.json. 60m: configs/sink_paper/60m.json at batch 1 and S = 512 (one step at the
// paper's S = 2048 and 1M tokens takes minutes on 2 cores; the per-token cost differs only in the attention term).
constexpr Shape kShapes[] = {
    {"tiny", 258, 128, 4, 4, 384, 16, 64},
    {"60m", 50432, 768, 10, 8, 1536, 1, 512},
};

void BM_train_step(benchmark::State& state) {
  const Shape& s = kShapes[state.range(0)];
  nn::ModelConfig c;
  c.vocab_size = s.vocab, c.d_model = s.d_model, c.n_layers = s.layers, c.n_heads = s.heads, c.d_ff = s.d_ff;
  c.max_seq_len = s.seq;
  nn::LlamaModel<float> model(c);
  auto params = model.parameters();
  optim::AdamW<float> opt(params, {});
  Tensor<int32_t> in({s.batch, s.seq}), tg({s.batch, s.seq});
  for (int64_t i = 0; i < in.numel(); ++i) {
    in.data()[i] = int32_t((i * 7919) % s.vocab);
    tg.data()[i] = int32_t((i * 104729 + 1) % s.vocab);
  }
  auto step = [&] {
    for (auto& p : params) p.var.zero_grad();
    auto loss = model.loss(in, tg);
    loss.backward();
    optim::clip_grad_norm(params, 1.0);
    opt.step(1e-4);
    benchmark::DoNotOptimize(loss.value().data());
  };
  step();  // warm-up (first-touch of optimiser state and cached buffers), as train_torch.py does
  for (auto _ : state) step();
  const double tokens = double(s.batch * s.seq), N = double(model.num_parameters());
  const double flops_per_token = 6.0 * N + 6.0 * double(s.layers) * double(s.seq) * double(s.d_model);
  state.SetLabel(s.name);
  state.counters["params_M"] = N * 1e-6;
  state.counters["tokens_per_s"] = benchmark::Counter(tokens, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOP"] = benchmark::Counter(tokens * flops_per_token * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

BENCHMARK(BM_train_step)->Arg(0)->Arg(1)->ArgName("shape")->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);

BENCHMARK_MAIN();
