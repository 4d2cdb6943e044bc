#pragma once
// CachingPool<Backend>: the bookkeeping of the CUDA caching allocator, separated from the CUDA calls so it is
// tested on the CPU with a fake backend. Plain C++; no CUDA headers.
//
// Note [stream-ordered reuse]: a freed block keeps the stream it was last used on. Reuse on the same stream is
// immediate (stream order already puts the new work after the old). Reuse on another stream records an event on
// the old stream when the block is taken (capturing all work queued there so far, which includes every use of the
// block) and makes the new stream wait on it, so no host synchronisation is needed.
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
    live_[p] = Live{cls, bytes, stream};
    stats_.allocated_bytes += cls;
    stats_.requested_bytes += bytes;
    if (stats_.allocated_bytes > stats_.peak_allocated_bytes) stats_.peak_allocated_bytes = stats_.allocated_bytes;
    return p;
  }

  // Returns `p` to its size class's free list; it stays ordered after all work queued so far on its stream.
  void deallocate(void* p) {
    if (!p) return;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find(p);
    SINKLAB_CHECK(it != live_.end(), "CUDA caching allocator: free of a pointer it did not allocate");
    const Live l = it->second;
    live_.erase(it);
    stats_.allocated_bytes -= l.cls;
    stats_.requested_bytes -= l.requested;
    free_[l.cls].push_back(Cached{p, l.stream});
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
    Stream stream;
  };
  struct Cached {
    void* p;
    Stream stream;
  };

  void* take_cached(std::size_t cls, Stream stream) {
    auto it = free_.find(cls);
    if (it == free_.end() || it->second.empty()) return nullptr;
    auto& list = it->second;
    // Prefer a block last used on this stream (no cross-stream wait); newest first for cache warmth.
    for (std::size_t i = list.size(); i-- > 0;) {
      if (list[i].stream == stream) {
        void* p = list[i].p;
        list.erase(list.begin() + static_cast<std::ptrdiff_t>(i));
        return p;
      }
    }
    Cached c = list.back();
    list.pop_back();
    const Event e = be_.record(c.stream);  // see Note [stream-ordered reuse]
    be_.wait(stream, e);
    be_.destroy(e);
    return c.p;
  }

  void release_cached_locked() {
    for (auto& [cls, list] : free_) {
      for (auto& c : list) {
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
