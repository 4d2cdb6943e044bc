// The CUDA caching allocator's bookkeeping (CachingPool, caching_pool.hpp) on the CPU, with a fake backend that
// records every device call: size classes, reuse, stream-ordered cross-stream reuse, record_stream, forgetting
// destroyed streams, and out-of-memory retry. Compiled with g++ only.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <set>
#include <utility>
#include <vector>

#include "sinklab/backend/cuda/caching_pool.hpp"

using namespace sinklab;

namespace {
// Streams and events are ints. A destroyed stream may not be recorded on (the real cudaEventRecord fails, or,
// once the handle is reused, silently orders against the wrong stream); `destroyed` catches that.
struct FakeBackend {
  using Stream = int;
  using Event = int;
  int next = 1, allocs = 0, frees = 0, records = 0, waits = 0, live_events = 0;
  std::size_t budget = std::size_t(1) << 40;  // alloc fails past this many bytes in use
  std::size_t in_use = 0;
  std::vector<std::pair<Stream, Event>> waited;    // (waiting stream, event)
  std::vector<std::pair<Event, Stream>> recorded;  // (event, stream it was recorded on)
  std::vector<std::pair<void*, std::size_t>> blocks;
  std::set<Stream> destroyed;
  void* alloc(std::size_t n) {
    if (in_use + n > budget) return nullptr;
    ++allocs;
    in_use += n;
    void* p = reinterpret_cast<void*>(std::uintptr_t(0x1000) * std::uintptr_t(next++));
    blocks.emplace_back(p, n);
    return p;
  }
  void free(void* p) {
    ++frees;
    for (auto& [q, n] : blocks)
      if (q == p) in_use -= n, n = 0;
  }
  Event record(Stream s) {
    if (destroyed.count(s)) FAIL("event recorded on destroyed stream " << s);
    ++records, ++live_events;
    recorded.emplace_back(records, s);
    return records;
  }
  void wait(Stream s, Event e) { ++waits, waited.emplace_back(s, e); }
  void destroy(Event) { --live_events; }

  Stream stream_of(Event e) const {
    for (const auto& [ev, s] : recorded)
      if (ev == e) return s;
    return -1;
  }
  // The streams whose events `s` has waited on, in order.
  std::vector<Stream> waited_on_by(Stream s) const {
    std::vector<Stream> r;
    for (const auto& [w, e] : waited)
      if (w == s) r.push_back(stream_of(e));
    return r;
  }
};
using Pool = backend::cuda::CachingPool<FakeBackend>;
}  // namespace

TEST_CASE("size classes round small requests to 512 B and large to 2 MiB", "[cuda][allocator]") {
  using backend::cuda::size_class;
  CHECK(size_class(0) == 512);
  CHECK(size_class(1) == 512);
  CHECK(size_class(513) == 1024);
  CHECK(size_class((1 << 20) - 1) == (1 << 20));
  CHECK(size_class(1 << 20) == (2 << 20));
  CHECK(size_class((2 << 20) + 1) == (4 << 20));
}

TEST_CASE("caching pool reuses freed blocks on the same stream without events", "[cuda][allocator]") {
  Pool pool;
  void* a = pool.allocate(1000, 0);
  pool.deallocate(a);
  void* b = pool.allocate(900, 0);  // same class (1024)
  CHECK(b == a);
  auto st = pool.stats();
  CHECK(st.num_device_allocs == 1);
  CHECK(st.num_cache_hits == 1);
  CHECK(st.allocated_bytes == 1024);
  CHECK(st.requested_bytes == 900);
  CHECK(pool.backend().records == 0);
  void* c = pool.allocate(5000, 0);  // different class: fresh allocation
  CHECK(c != a);
  CHECK(pool.stats().reserved_bytes == 1024 + 5120);
  CHECK(pool.stats().peak_allocated_bytes == 1024 + 5120);
  pool.deallocate(b);
  pool.deallocate(c);
  CHECK(pool.stats().allocated_bytes == 0);
  CHECK(pool.cached_blocks() == 2);
  pool.empty_cache();
  CHECK(pool.cached_blocks() == 0);
  CHECK(pool.stats().reserved_bytes == 0);
  CHECK(pool.backend().frees == 2);
  CHECK_THROWS_AS(pool.deallocate(reinterpret_cast<void*>(0x42)), Error);
}

TEST_CASE("caching pool orders cross-stream reuse with an event", "[cuda][allocator]") {
  Pool pool;
  void* a = pool.allocate(4096, /*stream*/ 1);
  pool.deallocate(a);
  void* b = pool.allocate(4096, /*stream*/ 2);
  CHECK(b == a);
  REQUIRE(pool.backend().waited.size() == 1);
  CHECK(pool.backend().waited_on_by(2) == std::vector<int>{1});  // stream 2 waits on an event recorded on 1
  CHECK(pool.backend().live_events == 0);                          // and the event is released
  // A block whose home is the requesting stream is preferred over one from another stream.
  void* c = pool.allocate(4096, 3);
  pool.deallocate(b);  // home 2
  pool.deallocate(c);  // home 3
  CHECK(pool.allocate(4096, 3) == c);
  CHECK(pool.backend().waits == 1);
}

TEST_CASE("record_stream: a block used on other streams is reused only after their work", "[cuda][allocator]") {
  Pool pool;
  void* a = pool.allocate(4096, /*home*/ 1);
  pool.record_stream(a, 1);  // its own stream: nothing to do
  pool.record_stream(a, 2);
  pool.record_stream(a, 2);  // once is enough
  pool.record_stream(a, 3);
  CHECK(pool.backend().records == 0);  // nothing recorded while the block lives
  pool.deallocate(a);                  // events on 2 and 3 capture the work queued there before the free
  CHECK(pool.backend().records == 2);
  // Reuse on the home stream still waits for the other streams.
  CHECK(pool.allocate(4096, 1) == a);
  auto w = pool.backend().waited_on_by(1);
  std::sort(w.begin(), w.end());
  CHECK(w == std::vector<int>{2, 3});
  CHECK(pool.backend().live_events == 0);
  // Reuse on a fourth stream waits for the home stream too; record_stream marks are per allocation.
  pool.record_stream(a, 2);
  pool.deallocate(a);
  CHECK(pool.allocate(4096, 4) == a);
  w = pool.backend().waited_on_by(4);
  std::sort(w.begin(), w.end());
  CHECK(w == std::vector<int>{1, 2});
  pool.deallocate(a);                  // home 4 now, used nowhere else
  CHECK(pool.allocate(4096, 4) == a);  // so no wait
  CHECK(pool.backend().waited_on_by(4).size() == 2);
  CHECK_THROWS_WITH(pool.record_stream(reinterpret_cast<void*>(0x42), 2), Catch::Matchers::Contains("record_stream"));
}

TEST_CASE("a forgotten stream's handle is never used again", "[cuda][allocator]") {
  Pool pool;
  FakeBackend& be = pool.backend();
  // A cached block whose home stream goes away.
  void* a = pool.allocate(4096, 5);
  pool.deallocate(a);
  pool.forget_stream(5);  // records one event on 5 now, while it still exists
  CHECK(be.records == 1);
  be.destroyed.insert(5);
  // The handle value comes back for a new stream: the block is not taken as "same stream" without a wait.
  CHECK(pool.allocate(4096, 5) == a);
  CHECK(be.waited_on_by(5) == std::vector<int>{5});
  CHECK(be.live_events == 0);
  be.destroyed.clear();
  pool.deallocate(a);
  pool.forget_stream(5);
  be.destroyed.insert(5);
  CHECK(pool.allocate(4096, 6) == a);  // another stream: waits on the event from 5, records nothing on 5
  CHECK(be.waited_on_by(6) == std::vector<int>{5});

  // A live block whose home stream is destroyed before the block is freed.
  void* b = pool.allocate(8192, 7);
  pool.forget_stream(7);
  be.destroyed.insert(7);
  pool.deallocate(b);
  CHECK(pool.allocate(8192, 8) == b);
  CHECK(be.waited_on_by(8) == std::vector<int>{7});

  // A live block recorded on a stream that is destroyed first: the event is taken at forget time.
  void* c = pool.allocate(16384, 9);
  pool.record_stream(c, 10);
  pool.forget_stream(10);
  be.destroyed.insert(10);
  pool.deallocate(c);  // records nothing on 10
  CHECK(pool.allocate(16384, 9) == c);
  CHECK(be.waited_on_by(9) == std::vector<int>{10});

  // Blocks that never saw the stream are untouched; empty_cache releases pending events.
  const int before = be.records;
  pool.forget_stream(42);
  CHECK(be.records == before);
  void* d = pool.allocate(1 << 21, 11);
  pool.deallocate(d);
  pool.forget_stream(11);
  CHECK(be.live_events == 1);
  pool.empty_cache();
  CHECK(be.live_events == 0);
}

TEST_CASE("caching pool empties its cache and retries when the device is full", "[cuda][allocator]") {
  Pool pool;
  pool.backend().budget = 4 << 20;
  void* a = pool.allocate(3 << 20, 0);  // class 4 MiB: the whole budget
  pool.deallocate(a);
  void* b = pool.allocate(1 << 20, 0);  // class 2 MiB: fails, frees the cached 4 MiB, succeeds
  CHECK(b != nullptr);
  CHECK(pool.backend().frees == 1);
  CHECK_THROWS_AS(pool.allocate(3 << 20, 0), Error);  // genuinely out of memory: names the sizes
}
