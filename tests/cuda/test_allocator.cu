// Caching allocator and Tensor<T, Cuda> on a device: reuse, stats, empty_cache, views and host round trips,
// record_stream across streams, and streams destroyed before their blocks.
#include <catch2/catch.hpp>

#include "sinklab/backend/cuda/stream.cuh"
#include "sinklab/backend/cuda/tensor_cuda.cuh"

using namespace sinklab;
using namespace sinklab::backend::cuda;

TEST_CASE("freed device blocks are reused from the cache", "[gpu][allocator]") {
  empty_cache();
  const auto before = allocator_stats();
  void* p = nullptr;
  {
    auto t = Tensor<float, Cuda>::zeros({1000});
    p = t.data();
  }
  auto t2 = Tensor<float, Cuda>::zeros({900});  // same 4 KiB class
  CHECK(t2.data() == p);
  const auto st = allocator_stats();
  CHECK(st.num_cache_hits >= before.num_cache_hits + 1);
  CHECK(st.allocated_bytes >= 4096);
  empty_cache();
  CHECK(allocator_stats().reserved_bytes == allocator_stats().allocated_bytes);
}

TEST_CASE("cross-stream reuse is ordered", "[gpu][allocator]") {
  auto s1 = Stream::create(), s2 = Stream::create();
  auto a = Tensor<float, Cuda>::full({1 << 20}, 3.0f, s1);
  void* p = a.data();
  a = Tensor<float, Cuda>();  // back to the cache, last used on s1
  auto b = Tensor<float, Cuda>::full({1 << 20}, 5.0f, s2);
  CHECK(b.data() == p);
  const auto h = b.to_host(s2);
  CHECK(h.data()[0] == 5.0f);
  CHECK(h.data()[(1 << 20) - 1] == 5.0f);
}

TEST_CASE("Tensor<T, Cuda> views and host round trip", "[gpu][tensor]") {
  auto h = Tensor<float>::randn({2, 3, 4}, 1);
  auto d = to_device(h);
  CHECK(d.shape() == h.shape());
  CHECK(d.to_host().to_vector() == h.to_vector());
  CHECK(d.permute({2, 0, 1}).to_host().to_vector() == h.permute({2, 0, 1}).contiguous().to_vector());
  CHECK(d.slice(2, 1, 4, 2).to_host().to_vector() == h.slice(2, 1, 4, 2).contiguous().to_vector());
  CHECK(d.transpose(0, 1).reshape({6, 4}).to_host().to_vector() == h.transpose(0, 1).reshape({6, 4}).to_vector());
  auto z = Tensor<bf16, Cuda>::zeros({5});
  for (auto v : z.to_host().to_vector()) CHECK(float(v) == 0.0f);
  CHECK_THROWS_AS(d.reshape({5, 5}), Error);
}

namespace {
// Keeps `s` busy for about `ms` milliseconds, so that work queued behind it runs late.
__global__ void spin_kernel(long long cycles) {
  const long long start = clock64();
  while (clock64() - start < cycles) {
  }
}
void spin(cudaStream_t s, double ms) {
  int khz = 0;
  SINKLAB_CUDA_CHECK(cudaDeviceGetAttribute(&khz, cudaDevAttrClockRate, 0));
  spin_kernel<<<1, 1, 0, s>>>(static_cast<long long>(ms * khz));
  SINKLAB_CUDA_CHECK_LAUNCH();
}
}  // namespace

TEST_CASE("record_stream: a block read on another stream is not reused before that read", "[gpu][allocator]") {
  auto s1 = Stream::create(), s2 = Stream::create();
  const int64_t n = 1 << 20;
  auto a = Tensor<float, Cuda>::full({n}, 3.0f, s1);
  void* p = a.data();
  cudaEvent_t filled;
  SINKLAB_CUDA_CHECK(cudaEventCreateWithFlags(&filled, cudaEventDisableTiming));
  SINKLAB_CUDA_CHECK(cudaEventRecord(filled, s1));
  SINKLAB_CUDA_CHECK(cudaStreamWaitEvent(s2, filled, 0));
  spin(s2, 50.0);                     // s2 reads `a` only after ~50 ms
  auto b = Tensor<float, Cuda>::empty({n}, s2);
  SINKLAB_CUDA_CHECK(cudaMemcpyAsync(b.data(), a.data(), n * sizeof(float), cudaMemcpyDeviceToDevice, s2));
  a.record_stream(s2);
  a = Tensor<float, Cuda>();          // freed on s1 while s2 has not read it yet
  auto c = Tensor<float, Cuda>::full({n}, 5.0f, s1);  // same block: this fill must wait for s2's copy
  CHECK(c.data() == p);
  const auto h = b.to_host(s2);
  CHECK(h.data()[0] == 3.0f);
  CHECK(h.data()[n - 1] == 3.0f);
  CHECK(c.to_host(s1).data()[0] == 5.0f);
  SINKLAB_CUDA_CHECK(cudaEventDestroy(filled));
}

TEST_CASE("a destroyed stream's blocks are reused without touching its handle", "[gpu][allocator]") {
  void* p = nullptr;
  {
    auto s = Stream::create();
    auto a = Tensor<float, Cuda>::full({1 << 18}, 1.0f, s);
    p = a.data();
    auto live = Tensor<float, Cuda>::full({1 << 17}, 2.0f, s);
    a = Tensor<float, Cuda>();  // cached, home s
    CHECK(live.to_host(s).data()[0] == 2.0f);
    s = Stream();  // destroyed with `live` still allocated on it
  }                // `live` freed after its stream is gone
  auto s2 = Stream::create();
  Tensor<float, Cuda> b;
  CHECK_NOTHROW(b = Tensor<float, Cuda>::full({1 << 18}, 7.0f, s2));  // records nothing on the destroyed stream
  CHECK(b.data() == p);
  CHECK(b.to_host(s2).data()[0] == 7.0f);
  CHECK_NOTHROW(Tensor<float, Cuda>::full({1 << 17}, 3.0f, s2));
}
