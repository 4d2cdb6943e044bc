// GFLOP/s of backend::cpu::matmul (square n×n×n, 2n³ flops) for float and double, plus a thread sweep at n = 1024
// and the linear-layer shape (batch folded into M with a shared weight). Counter "GFLOP" is a rate (printed GFLOP/s, so
// Google Benchmark divides by the measured time).
#include <benchmark/benchmark.h>

#include <sinklab/backend/cpu/gemm.hpp>
#include <sinklab/core/parallel.hpp>

namespace {

using sinklab::Tensor;

template <class T>
void gemm_square(benchmark::State& state) {
  const int64_t n = state.range(0);
  const int threads = static_cast<int>(state.range(1));
  sinklab::set_num_threads(threads);
  const auto a = Tensor<T>::randn({n, n}, 1), b = Tensor<T>::randn({n, n}, 2);
  for (auto _ : state) {
    auto c = sinklab::backend::cpu::matmul(a, b);
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["GFLOP"] = benchmark::Counter(2.0 * n * n * n * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["threads"] = threads;
  sinklab::set_num_threads(0);
}

// x (B, S, in) × Wᵀ (out, in): the Linear forward, with the batch folded into one GEMM.
void linear_shape(benchmark::State& state) {
  const int64_t rows = state.range(0), in = state.range(1), out = state.range(2);
  const auto x = Tensor<float>::randn({rows / 256, 256, in}, 3), w = Tensor<float>::randn({out, in}, 4);
  for (auto _ : state) {
    auto y = sinklab::backend::cpu::matmul(x, w, false, true);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GFLOP"] =
      benchmark::Counter(2.0 * rows * in * out * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void sizes(benchmark::internal::Benchmark* b) {
  const int all = sinklab::num_threads();
  for (int n : {256, 512, 1024, 2048}) b->Args({n, all});
}
void thread_sweep(benchmark::internal::Benchmark* b) {
  for (int t = 1; t <= sinklab::num_threads(); t *= 2) b->Args({1024, t});
}

}  // namespace

BENCHMARK_TEMPLATE(gemm_square, float)
    ->Apply(sizes)
    ->ArgNames({"n", "threads"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_TEMPLATE(gemm_square, double)
    ->Apply(sizes)
    ->ArgNames({"n", "threads"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_TEMPLATE(gemm_square, float)
    ->Name("sgemm_thread_sweep")
    ->Apply(thread_sweep)
    ->ArgNames({"n", "threads"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_TEMPLATE(gemm_square, double)
    ->Name("dgemm_thread_sweep")
    ->Apply(thread_sweep)
    ->ArgNames({"n", "threads"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(linear_shape)
    ->Args({4096, 768, 3072})
    ->Args({4096, 3072, 768})
    ->ArgNames({"rows", "in", "out"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

BENCHMARK_MAIN();
