#pragma once
// CachingPool<Backend>: the bookkeeping of the CUDA caching allocator, separated from the CUDA calls so it is
// tested on the CPU with a fake backend. Plain C++; no CUDA headers.
//
// Note [stream-ordered reuse]: a block belongs to the stream it was allocated on (its home). Freed, it goes to a
// free list; reuse on the home stream is immediate (stream order already puts the new work after the old). Reuse
// on another stream records an event on the home stream when the block is taken (capturing all work queued there
// so far, which includes every use of the block) and makes the new stream wait on it, so no host synchronisation
// is needed.
//
// Note [record_stream]: a block also used on other streams (a tensor made on one stream and read by a kernel on
// another) is told so with record_stream(p, s). Its deallocate then records an event on each such stream, and
// whichever stream takes the block next waits on those events: the block is not reused before that work is
// done. Without it, the home stream's order alone would let the block be handed out while the other stream
// still reads it.
//
// Note [destroyed streams]: the pool must never touch a stream handle after the stream is destroyed (recording
// on it is an error, and the handle value can come back for a new, unrelated stream). forget_stream(s), called
// before cudaStreamDestroy (Stream does), records one event per block on s for the work queued there, keeps the
// event with the block and drops the handle: the block becomes homeless, and any stream that takes it waits on
// the event.
//
// Size classes: requests round up to 512 B below 1 MiB and to 2 MiB above; each class has its own free list, so a
// block is reused only for requests of the same class (no splitting; bounded waste ≤ 2 MiB per large block).
//
// Backend: `void* alloc(size_t)` (nullptr when out of memory), `void free(void*)`,
//          `Event record(Stream)`, `void wait(Stream, Event)`, `void destroy(Event)`, with `Stream`/`Event` types.
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "sinklab/core/error.hpp"

namespace sinklab::backend::cuda {

struct AllocatorStats {
  std::size_t allocated_bytes = 0;       // bytes handed out and not yet freed (rounded sizes)
  std::size_t reserved_bytes = 0;        // allocated + cached, i.e. what the device has given us
  std::size_t peak_allocated_bytes = 0;
  std::size_t requested_bytes = 0;       // unrounded bytes currently handed out
  std::size_t num_device_allocs = 0;     // calls into the backend's alloc
  std::size_t num_device_frees = 0;
  std::size_t num_cache_hits = 0;
  std::size_t num_allocs = 0;
};

inline constexpr std::size_t kSmallLimit = std::size_t(1) << 20;  // 1 MiB
inline constexpr std::size_t kSmallRound = 512;
inline constexpr std::size_t kLargeRound = std::size_t(2) << 20;  // 2 MiB

inline std::size_t size_class(std::size_t bytes) {
  if (bytes == 0) bytes = 1;
  const std::size_t r = bytes < kSmallLimit ? kSmallRound : kLargeRound;
  return (bytes + r - 1) / r * r;
}

template <class Backend>
class CachingPool {
 public:
  using Stream = typename Backend::Stream;
  using Event = typename Backend::Event;

  explicit CachingPool(Backend backend = {}) : be_(std::move(backend)) {}
  CachingPool(const CachingPool&) = delete;
  CachingPool& operator=(const CachingPool&) = delete;
  ~CachingPool() { release_all(); }

  void* allocate(std::size_t bytes, Stream stream) {
    const std::size_t cls = size_class(bytes);
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.num_allocs;
    void* p = take_cached(cls, stream);
    if (p) {
      ++stats_.num_cache_hits;
    } else {
      p = be_.alloc(cls);
      if (!p) {  // out of memory: give the cache back to the device and try once more
        release_cached_locked();
        p = be_.alloc(cls);
      }
      SINKLAB_CHECK(p != nullptr, "CUDA caching allocator: out of memory allocating ", cls, " bytes (",
                    stats_.allocated_bytes, " in use, ", stats_.reserved_bytes, " reserved)");
      ++stats_.num_device_allocs;
      stats_.reserved_bytes += cls;
    }
    live_[p] = Live{cls, bytes, stream, {}, {}};
    stats_.allocated_bytes += cls;
    stats_.requested_bytes += bytes;
    if (stats_.allocated_bytes > stats_.peak_allocated_bytes) stats_.peak_allocated_bytes = stats_.allocated_bytes;
    return p;
  }

  // Marks `p` (a pointer allocate returned) as used on `stream` too; see Note [record_stream].
  void record_stream(const void* p, Stream stream) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find(const_cast<void*>(p));
    SINKLAB_CHECK(it != live_.end(), "CUDA caching allocator: record_stream of a pointer it did not allocate (or ",
                  "already freed; pass the allocation's base, not a view's offset pointer)");
    Live& l = it->second;
    if (l.home && *l.home == stream) return;
    for (const Stream& u : l.uses)
      if (u == stream) return;
    l.uses.push_back(stream);
  }

  // Returns `p` to its size class's free list; it stays ordered after all work queued so far on its home stream,
  // and (events recorded now) on every stream record_stream named.
  void deallocate(void* p) {
    if (!p) return;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find(p);
    SINKLAB_CHECK(it != live_.end(), "CUDA caching allocator: free of a pointer it did not allocate");
    Live l = std::move(it->second);
    live_.erase(it);
    stats_.allocated_bytes -= l.cls;
    stats_.requested_bytes -= l.requested;
    for (const Stream& u : l.uses) l.after.push_back(be_.record(u));
    free_[l.cls].push_back(Cached{p, l.home, std::move(l.after)});
  }

  // Drops every reference to `stream` before it is destroyed; see Note [destroyed streams].
  void forget_stream(Stream stream) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [p, l] : live_) {
      bool used = l.home && *l.home == stream;
      if (used) l.home.reset();
      for (std::size_t i = l.uses.size(); i-- > 0;) {
        if (l.uses[i] != stream) continue;
        l.uses.erase(l.uses.begin() + static_cast<std::ptrdiff_t>(i));
        used = true;
      }
      if (used) l.after.push_back(be_.record(stream));  // one event for the work queued on it so far
    }
    for (auto& [cls, list] : free_)
      for (Cached& c : list)
        if (c.home && *c.home == stream) {
          c.after.push_back(be_.record(stream));
          c.home.reset();
        }
  }

  // Gives every cached (free) block back to the device. Blocks in use are untouched.
  void empty_cache() {
    std::lock_guard<std::mutex> lock(mu_);
    release_cached_locked();
  }

  AllocatorStats stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }
  void reset_peak() {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.peak_allocated_bytes = stats_.allocated_bytes;
  }
  std::size_t cached_blocks() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::size_t n = 0;
    for (const auto& [cls, v] : free_) n += v.size();
    return n;
  }
  Backend& backend() { return be_; }

 private:
  struct Live {
    std::size_t cls, requested;
    std::optional<Stream> home;  // empty once the stream is forgotten
    std::vector<Stream> uses;    // other streams it is used on (record_stream)
    std::vector<Event> after;    // recorded on streams since forgotten: the next reuse waits on them
  };
  struct Cached {
    void* p;
    std::optional<Stream> home;
    std::vector<Event> after;  // reuse waits on these (Note [record_stream], Note [destroyed streams])
  };

  void* take_cached(std::size_t cls, Stream stream) {
    auto it = free_.find(cls);
    if (it == free_.end() || it->second.empty()) return nullptr;
    auto& list = it->second;
    // Prefer a block whose home is this stream (no cross-stream wait); newest first for cache warmth.
    std::size_t pick = list.size() - 1;
    for (std::size_t i = list.size(); i-- > 0;)
      if (list[i].home && *list[i].home == stream) {
        pick = i;
        break;
      }
    Cached c = std::move(list[pick]);
    list.erase(list.begin() + static_cast<std::ptrdiff_t>(pick));
    if (c.home && *c.home != stream) c.after.push_back(be_.record(*c.home));  // Note [stream-ordered reuse]
    for (const Event& e : c.after) {
      be_.wait(stream, e);
      be_.destroy(e);  // the wait has captured it
    }
    return c.p;
  }

  void release_cached_locked() {
    for (auto& [cls, list] : free_) {
      for (auto& c : list) {
        for (const Event& e : c.after) be_.destroy(e);
        be_.free(c.p);  // the backend's free synchronises as cudaFree does
        ++stats_.num_device_frees;
        stats_.reserved_bytes -= cls;
      }
      list.clear();
    }
    free_.clear();
  }

  void release_all() {
    release_cached_locked();
    // Blocks still live at shutdown belong to tensors outliving the pool; leave them to process teardown.
  }

  Backend be_;
  mutable std::mutex mu_;
  std::map<std::size_t, std::vector<Cached>> free_;
  std::unordered_map<void*, Live> live_;
  AllocatorStats stats_;
};

}  // namespace sinklab::backend::cuda
