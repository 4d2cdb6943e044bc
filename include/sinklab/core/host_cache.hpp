#pragma once
// HostCache: keeps large host buffers for reuse instead of handing them back to the OS.
//
// Why: glibc serves every block above its mmap threshold (at most 32 MiB) with fresh mmap'd pages and unmaps it on
// free. A training step allocates the same large temporaries (logits, activations, gradients) every step, so each
// step paid a page fault and a kernel page clear for every 4 KiB of them: 26 % of a step of the sink paper's 60M
// model on 2 cores (perf record on bench_train, clear_page_erms). Reused blocks cost nothing of the kind.
//
// Blocks of at least `min_cached_bytes` go through the cache; smaller ones go straight to the aligned operator new.
// A request takes the smallest free block that fits within 1/8 of waste. Freed blocks are kept while the cache
// holds less than its limit (default: a quarter of physical memory; SINKLAB_HOST_CACHE_MB overrides it, 0 turns
// caching off); beyond it they go back to the OS. release() empties the cache. Contents of a reused block are
// whatever was there: Tensor zero-fills where it promises zeros.
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <utility>

#include "sinklab/core/error.hpp"

namespace sinklab {

class HostCache {
 public:
  static constexpr std::size_t alignment = 64;  // a cache line; AVX-512 loads
  static constexpr std::size_t min_cached_bytes = std::size_t(1) << 18;

  static HostCache& instance() {
    static HostCache* cache = new HostCache();  // never destroyed: tensors in static storage outlive main
    return *cache;
  }

  void* allocate(std::size_t bytes) {
    if (bytes < min_cached_bytes) return raw_alloc(bytes);
    const std::size_t want = round_up(bytes);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_.lower_bound(want);
      if (it != free_.end() && it->first <= want + want / 8) {
        void* p = it->second;
        cached_ -= it->first;
        live_[p] = it->first;
        free_.erase(it);
        ++hits_;
        return p;
      }
      ++misses_;
    }
    void* p = raw_alloc(want);
    std::lock_guard<std::mutex> lock(mutex_);
    live_[p] = want;
    return p;
  }

  void deallocate(void* p, std::size_t bytes) {
    if (!p) return;
    if (bytes < min_cached_bytes) return raw_free(p);
    std::unique_lock<std::mutex> lock(mutex_);
    const auto it = live_.find(p);
    const std::size_t size = it != live_.end() ? it->second : round_up(bytes);
    if (it != live_.end()) live_.erase(it);
    if (cached_ + size <= limit_) {
      free_.emplace(size, p);
      cached_ += size;
      return;
    }
    lock.unlock();
    raw_free(p);
  }

  // Returns every cached block to the OS.
  void release() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [size, p] : free_) raw_free(p);
    free_.clear();
    cached_ = 0;
  }

  void set_limit(std::size_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    limit_ = bytes;
  }
  std::size_t limit() const { return limit_; }
  std::size_t cached_bytes() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return cached_;
  }
  std::size_t hits() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return hits_;
  }
  std::size_t misses() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return misses_;
  }

 private:
  HostCache() : limit_(default_limit()) {}

  static std::size_t round_up(std::size_t b) { return (b + 4095) / 4096 * 4096; }
  static void* raw_alloc(std::size_t bytes) { return ::operator new(bytes, std::align_val_t(alignment)); }
  static void raw_free(void* p) { ::operator delete(p, std::align_val_t(alignment)); }
  static std::size_t default_limit() {
    if (const char* env = std::getenv("SINKLAB_HOST_CACHE_MB")) {
      char* end = nullptr;
      const unsigned long long mb = std::strtoull(env, &end, 10);
      SINKLAB_CHECK(end != env && *end == '\0', "SINKLAB_HOST_CACHE_MB: expected a whole number of MiB, got '", env,
                    "'");
      return std::size_t(mb) << 20;
    }
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? std::size_t(pages) * std::size_t(page) / 4 : std::size_t(1) << 30;
  }

  mutable std::mutex mutex_;
  std::multimap<std::size_t, void*> free_;
  std::unordered_map<void*, std::size_t> live_;
  std::size_t cached_ = 0, limit_;
  std::size_t hits_ = 0, misses_ = 0;
};

// std::allocator-compatible front end. construct() default-initialises, so std::vector<T, HostAllocator<T>>(n)
// leaves trivial elements unwritten (Tensor::empty) while vector(n, value) still fills.
template <class T>
struct HostAllocator {
  using value_type = T;
  HostAllocator() noexcept = default;
  template <class U>
  HostAllocator(const HostAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(HostCache::instance().allocate(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { HostCache::instance().deallocate(p, n * sizeof(T)); }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    if constexpr (sizeof...(Args) == 0)
      ::new (static_cast<void*>(p)) U;
    else
      ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
  template <class U>
  bool operator==(const HostAllocator<U>&) const noexcept {
    return true;
  }
};

}  // namespace sinklab
