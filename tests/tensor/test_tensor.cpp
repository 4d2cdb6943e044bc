#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <sstream>

#include "sinklab/tensor.hpp"

using sinklab::HostCache;
using sinklab::Shape;
using sinklab::Tensor;

TEST_CASE("tensor: construction, shape and strides", "[tensor]") {
  Tensor<float> t({2, 3, 4});
  CHECK(t.numel() == 24);
  CHECK(t.strides() == Shape{12, 4, 1});
  CHECK(t.is_contiguous());
  CHECK(t[{1, 2, 3}] == 0.0f);
  auto a = Tensor<double>::arange(6).reshape({2, 3});
  CHECK(a[{1, 0}] == 3.0);
  CHECK(a.reshape({-1}).shape() == Shape{6});
  CHECK_THROWS_WITH(a.reshape({4, 2}), Catch::Contains("(2, 3)") && Catch::Contains("(4, 2)"));
}

TEST_CASE("tensor: views share storage; contiguous copies", "[tensor]") {
  auto a = Tensor<double>::arange(24).reshape({2, 3, 4});
  auto p = a.permute({2, 0, 1});  // (4, 2, 3)
  CHECK(p.shape() == Shape{4, 2, 3});
  CHECK(!p.is_contiguous());
  CHECK(p[{3, 1, 2}] == a[{1, 2, 3}]);
  auto c = p.contiguous();
  CHECK(c.is_contiguous());
  CHECK(c[{3, 1, 2}] == 23.0);
  auto s = a.slice(2, 1, 3);  // (2, 3, 2)
  CHECK(s.shape() == Shape{2, 3, 2});
  CHECK(s[{1, 2, 1}] == a[{1, 2, 2}]);
  s.fill_(-1);
  CHECK(a[{0, 0, 1}] == -1.0);
  CHECK(a[{0, 0, 0}] == 0.0);
  auto st = a.slice(1, 0, 3, 2);
  CHECK(st.shape() == Shape{2, 2, 4});
  CHECK(st[{1, 1, 3}] == a[{1, 2, 3}]);
  auto t = a.transpose(0, 2).reshape({-1});  // non-contiguous reshape copies
  CHECK(t.numel() == 24);
  CHECK(t.data()[1] == a[{1, 0, 0}]);
}

TEST_CASE("tensor: size-1 and empty dims", "[tensor]") {
  Tensor<float> e({0, 5});
  CHECK(e.numel() == 0);
  CHECK(e.contiguous().numel() == 0);
  CHECK(e.reshape({5, 0}).shape() == Shape{5, 0});
  Tensor<float> one({1, 1, 3});
  CHECK(one.is_contiguous());
  CHECK(one.permute({1, 0, 2}).is_contiguous());
  CHECK_THROWS(Tensor<float>(Shape{-1}));
}

TEST_CASE("tensor: bf16 rounding and casts", "[tensor]") {
  using sinklab::bf16;
  CHECK(static_cast<float>(bf16(1.0f)) == 1.0f);
  CHECK(static_cast<float>(bf16(1.00390625f)) == 1.0f);        // halfway: ties to even (down)
  CHECK(static_cast<float>(bf16(1.01171875f)) == 1.015625f);   // halfway: ties to even (up)
  CHECK(std::isnan(static_cast<float>(bf16(std::nanf("")))));
  auto t = Tensor<float>::from({3}, {1.5f, -2.25f, 3.0f}).cast<bf16>().cast<float>();
  CHECK(t.to_vector() == std::vector<float>{1.5f, -2.25f, 3.0f});
}

TEST_CASE("tensor: printing is readable", "[tensor]") {
  std::ostringstream os;
  os << Tensor<double>::arange(4).reshape({2, 2});
  CHECK(os.str() == "Tensor(2, 2) [[0, 1], [2, 3]]");
}

// core/host_cache.hpp: large buffers are reused, and reuse never leaks old contents into a zeros tensor.
TEST_CASE("host cache: large buffers are reused; Tensor(shape) is still zeros; a zero limit disables caching",
          "[tensor][host_cache]") {
  auto& cache = HostCache::instance();
  const Shape big{512, 1024};  // 2 MiB, above min_cached_bytes
  const float* first = nullptr;
  {
    Tensor<float> t = Tensor<float>::full(big, 7.f);
    first = t.data();
  }
  const std::size_t hits = cache.hits();
  {
    Tensor<float> z(big);  // takes the block just freed, dirty with 7s
    CHECK(z.data() == first);
    CHECK(cache.hits() == hits + 1);
    const auto v = z.to_vector();
    CHECK(std::all_of(v.begin(), v.end(), [](float x) { return x == 0.f; }));
    CHECK(reinterpret_cast<std::uintptr_t>(z.data()) % HostCache::alignment == 0);
  }
  {
    Tensor<float> e = Tensor<float>::empty(big);  // uninitialised: only shape and storage are promised
    CHECK(e.shape() == big);
    CHECK(e.is_contiguous());
    CHECK_THROWS_WITH(Tensor<float>::empty({2, -1}), Catch::Contains("negative dimension"));
  }
  const std::size_t limit = cache.limit();
  cache.release();
  CHECK(cache.cached_bytes() == 0);
  cache.set_limit(0);
  { Tensor<float> t(big); }
  CHECK(cache.cached_bytes() == 0);  // went back to the OS
  cache.set_limit(limit);
  { Tensor<float> t(big); }
  CHECK(cache.cached_bytes() >= std::size_t(big[0] * big[1]) * sizeof(float));
}
