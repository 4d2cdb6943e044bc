// Caching allocator and Tensor<T, Cuda> on a device: reuse, stats, empty_cache, views and host round trips.
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
