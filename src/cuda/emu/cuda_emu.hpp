#pragma once
// A small CPU emulator of the CUDA surface our kernels use, so that they — the same source nvcc compiles — run as
// host code and are checked against the CPU ops on machines without a GPU. This file runs kernels; runtime_emu.hpp
// (memory, streams, events, errors) and cub_emu.hpp add the rest of what the backend calls (README.md here).
//
// Each CTA runs as blockDim cooperative fibers (ucontext), one CTA at a time. __syncthreads and __syncwarp are real
// barriers over the fibers of the CTA / warp; __shfl_xor_sync exchanges through per-warp slots between two warp
// barriers (all 32 lanes must call it, as the kernels do). Between barriers a fiber runs until it blocks; the order
// in which fibers are resumed is SINKLAB_EMU_ORDER = fwd (default) | rev | rand, so a missing barrier shows up as a
// wrong result under one of the orders. Dynamic shared memory and every device allocation start as NaN bytes, so
// reading what no thread wrote poisons the result. A barrier that can never complete aborts with a message; a
// launch past a device limit (grid, block or shared memory; launch_limits.hpp) throws sinklab::Error.
//
// `__shared__` variables become function statics: one CTA runs at a time, so every thread of it sees the same one,
// as on a device (they are not poisoned like dynamic shared memory; each kernel instantiation has its own).
//
// Include before fused_cuda.cuh and compile with -DSINKLAB_CUDA_EMULATE. Not thread safe (one launch at a time).
#define SINKLAB_CUDA_EMU_ACTIVE 1

#include <setjmp.h>
#include <ucontext.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "sinklab/backend/cuda/launch_limits.hpp"
#include "sinklab/core/error.hpp"

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static

struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {}
};
struct alignas(16) float4 {
  float x, y, z, w;
};
struct CUstream_st;
using cudaStream_t = CUstream_st*;

namespace sinklab_emu {

// A fiber enters its stack once, for the first CTA it runs, through makecontext/swapcontext; after that every
// switch is _setjmp/_longjmp between stacks that stay alive (no signal-mask system call per switch, which dominated
// the run time). A fiber that finishes its thread parks in fiber_entry's loop and is resumed there, by the same
// _longjmp, as a thread of the next CTA: a grid of many small CTAs costs no context set-up per CTA.
struct Fiber {
  ucontext_t ctx;
  jmp_buf jb;
  bool started = false;
  std::vector<char> stack;
  dim3 tid;
  int lin = 0;
  enum State { ready, wait_block, wait_warp, done } state = ready;
  unsigned long wait_gen = 0;
};

struct Cta {
  std::vector<Fiber> fibers;
  ucontext_t sched;
  jmp_buf sched_jb;
  int n = 0, alive = 0, cur = -1;
  int arrived = 0;
  unsigned long gen = 0;
  std::vector<int> w_arrived, w_alive;
  std::vector<unsigned long> w_gen;
  std::vector<unsigned long long> xch;  // 2 × 32 exchange slots per warp (double-buffered: one barrier per shuffle)
  std::vector<unsigned char> xpar;      // per thread: which half the next shuffle uses
  std::function<void()> body;
  std::vector<float4> smem;
  dim3 block_idx, block_dim, grid_dim;
  long launches = 0;
};

inline Cta& cta() {
  static Cta c;
  return c;
}

inline void fail(const char* what) {
  std::fprintf(stderr, "cuda_emu: %s\n", what);
  std::abort();
}

inline void yield_to_scheduler() {
  Cta& c = cta();
  if (!_setjmp(c.fibers[c.cur].jb)) _longjmp(c.sched_jb, 1);
}

inline const dim3& thread_idx() { return cta().fibers[cta().cur].tid; }

// The last thread to arrive does not run on: it yields too, so that past the barrier every thread resumes in the
// SINKLAB_EMU_ORDER order. (Were it to run on, `rev` would resume thread 0 first whenever thread 0 arrives last,
// and a read of what thread 0 writes after the barrier, with no second barrier, would go unseen.)
inline void block_barrier() {
  Cta& c = cta();
  Fiber& f = c.fibers[c.cur];
  f.state = Fiber::wait_block;
  f.wait_gen = c.gen;
  if (++c.arrived == c.alive) {
    c.arrived = 0;
    ++c.gen;
  }
  yield_to_scheduler();
}

inline void warp_barrier() {
  Cta& c = cta();
  Fiber& f = c.fibers[c.cur];
  const int w = f.lin / 32;
  if (++c.w_arrived[w] == c.w_alive[w]) {
    c.w_arrived[w] = 0;
    ++c.w_gen[w];
    return;
  }
  f.state = Fiber::wait_warp;
  f.wait_gen = c.w_gen[w];
  yield_to_scheduler();
}

template <class T>
T shfl_xor(T v, int mask) {
  static_assert(sizeof(T) <= 8, "shfl of more than 8 bytes");
  Cta& c = cta();
  const int lin = c.fibers[c.cur].lin, w = lin / 32, lane = lin % 32;
  if (c.w_alive[w] != 32) fail("__shfl_xor_sync in a partial warp");
  // The next shuffle writes the other half, so one barrier suffices: a lane can only reach the shuffle after that
  // (which writes this half again) once every lane has arrived at the next one, i.e. has read this one.
  unsigned long long* slots = &c.xch[(std::size_t(w) * 2 + c.xpar[lin]) * 32];
  c.xpar[lin] ^= 1;
  std::memcpy(&slots[lane], &v, sizeof(T));
  warp_barrier();
  T r;
  std::memcpy(&r, &slots[lane ^ mask], sizeof(T));
  return r;
}

[[noreturn]] inline void fiber_entry() {
  for (;;) {
    Cta& c = cta();
    c.body();
    Fiber& f = c.fibers[c.cur];
    f.state = Fiber::done;
    --c.alive;
    const int w = f.lin / 32;
    --c.w_alive[w];
    // an exited thread no longer holds back a barrier the others wait at
    if (c.arrived > 0 && c.arrived == c.alive) c.arrived = 0, ++c.gen;
    if (c.w_arrived[w] > 0 && c.w_arrived[w] == c.w_alive[w]) c.w_arrived[w] = 0, ++c.w_gen[w];
    // Park: the next CTA that gives this fiber a thread resumes here (c.fibers may have moved by then, so nothing
    // of this iteration is used after the jump).
    if (!_setjmp(f.jb)) _longjmp(c.sched_jb, 1);
  }
}

inline bool runnable(const Cta& c, const Fiber& f) {
  switch (f.state) {
    case Fiber::ready:
      return true;
    case Fiber::wait_block:
      return f.wait_gen != c.gen;
    case Fiber::wait_warp:
      return f.wait_gen != c.w_gen[f.lin / 32];
    default:
      return false;
  }
}

// Runs fiber f until it blocks or ends (its own frame, so no local of the scheduler loop lives across the jump).
__attribute__((noinline)) inline void resume(Cta& c, Fiber& f) {
  if (!_setjmp(c.sched_jb)) {
    if (f.started) _longjmp(f.jb, 1);
    f.started = true;
    swapcontext(&c.sched, &f.ctx);
  }
}

inline int order_mode() {
  static const int m = [] {
    const char* e = std::getenv("SINKLAB_EMU_ORDER");
    if (!e) return 0;
    const std::string s(e);
    return s == "rev" ? 1 : s == "rand" ? 2 : 0;
  }();
  return m;
}

inline void run_cta(const dim3& bidx, const dim3& block, const dim3& grid, std::size_t smem_bytes) {
  Cta& c = cta();
  const int n = int(block.x * block.y * block.z);
  constexpr std::size_t stack_bytes = 256 * 1024;
  if (int(c.fibers.size()) < n) c.fibers.resize(n);
  c.n = n;
  c.alive = n;
  c.arrived = 0;
  const int nw = (n + 31) / 32;
  c.w_arrived.assign(nw, 0);
  c.w_gen.assign(nw, 0);
  c.w_alive.assign(nw, 0);
  c.xch.assign(std::size_t(nw) * 64, 0);
  c.xpar.assign(std::size_t(n), 0);
  c.smem.assign((smem_bytes + 15) / 16, float4{NAN, NAN, NAN, NAN});
  c.block_idx = bidx, c.block_dim = block, c.grid_dim = grid;
  for (int t = 0; t < n; ++t) {
    Fiber& f = c.fibers[t];
    if (f.stack.size() < stack_bytes) f.stack.resize(stack_bytes);
    f.lin = t;
    f.tid = dim3(unsigned(t % block.x), unsigned((t / block.x) % block.y), unsigned(t / (block.x * block.y)));
    f.state = Fiber::ready;
    ++c.w_alive[t / 32];
    if (!f.started) {  // a fiber that ran before is parked in fiber_entry's loop (see Fiber)
      getcontext(&f.ctx);
      f.ctx.uc_stack.ss_sp = f.stack.data();
      f.ctx.uc_stack.ss_size = f.stack.size();
      f.ctx.uc_link = &c.sched;
      makecontext(&f.ctx, &fiber_entry, 0);
    }
  }
  std::vector<int> order(n);
  for (int t = 0; t < n; ++t) order[t] = order_mode() == 1 ? n - 1 - t : t;
  static std::mt19937 rng(12345);
  while (c.alive > 0) {
    if (order_mode() == 2) std::shuffle(order.begin(), order.end(), rng);
    bool any = false;
    for (int t : order) {
      Fiber& f = c.fibers[t];
      if (!runnable(c, f)) continue;
      any = true;
      f.state = Fiber::ready;
      c.cur = t;
      resume(c, f);
    }
    if (!any) fail("deadlock: every live thread waits at a barrier that cannot complete");
  }
  c.cur = -1;
}

// ---- bf16 and mma.sync ----------------------------------------------------------------------------------------------
// float → bf16 bits, round to nearest even (what __float2bfloat16_rn does for finite values).
inline std::uint32_t bf16_bits(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return 0x7fc0u;  // NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return u >> 16;
}
inline float bf16_float(std::uint32_t h) {
  const std::uint32_t u = (h & 0xffffu) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 d = a·b + d, as a warp collective over the fragment layouts
// of the PTX ISA (groupID g = lane / 4, t = lane % 4; the lower half of a .b32 holds the smaller k):
//   A (16×16): a0 (g, 2t..2t+1)  a1 (g+8, 2t..)  a2 (g, 2t+8..)  a3 (g+8, 2t+8..)
//   B (16×8):  b0 (k = 2t..2t+1, n = g)  b1 (k = 2t+8.., n = g)
//   C/D (16×8): c0 (g, 2t)  c1 (g, 2t+1)  c2 (g+8, 2t)  c3 (g+8, 2t+1)
struct MmaSlots {
  std::uint32_t a[32][4], b[32][2];
  float A[16][16], B[16][8];     // decoded once per call, by the first lane past the barrier
  unsigned long decoded = ~0ul;  // the warp-barrier generation A and B were decoded in
};
inline void mma_bf16_16816(float (&d)[4], const std::uint32_t (&a)[4], const std::uint32_t (&b)[2]) {
  Cta& c = cta();
  const int lin = c.fibers[c.cur].lin, w = lin / 32, lane = lin % 32;
  if (c.w_alive[w] != 32) fail("mma.sync in a partial warp");
  static std::vector<MmaSlots> slots;
  if (slots.size() < std::size_t(2 * c.w_alive.size())) slots.resize(2 * c.w_alive.size());
  MmaSlots& m = slots[std::size_t(w) * 2 + c.xpar[lin]];  // double-buffered like shfl_xor
  c.xpar[lin] ^= 1;
  for (int r = 0; r < 4; ++r) m.a[lane][r] = a[r];
  for (int r = 0; r < 2; ++r) m.b[lane][r] = b[r];
  warp_barrier();
  if (m.decoded != c.w_gen[w]) {
    m.decoded = c.w_gen[w];
    for (int row = 0; row < 16; ++row)
      for (int k = 0; k < 16; ++k) {  // element (row, k) of A
        const int ln = (row % 8) * 4 + (k % 8) / 2, reg = (row >= 8 ? 1 : 0) + (k >= 8 ? 2 : 0);
        m.A[row][k] = bf16_float(m.a[ln][reg] >> (16 * (k % 2)));
      }
    for (int k = 0; k < 16; ++k)
      for (int n = 0; n < 8; ++n) {  // element (k, n) of B
        const int ln = n * 4 + (k % 8) / 2, reg = k >= 8 ? 1 : 0;
        m.B[k][n] = bf16_float(m.b[ln][reg] >> (16 * (k % 2)));
      }
  }
  const int g = lane / 4, t = lane % 4;
  for (int e = 0; e < 4; ++e) {
    const int row = g + (e >= 2 ? 8 : 0), col = 2 * t + (e & 1);
    float acc = d[e];
    for (int k = 0; k < 16; ++k) acc += m.A[row][k] * m.B[k][col];  // products of bf16 are exact in float
    d[e] = acc;
  }
}

// ---- the host API fused_cuda.cuh calls ---------------------------------------------------------------------------
inline void* dev_alloc(std::size_t bytes, cudaStream_t) {
  const std::size_t n = (bytes + 255) / 256 * 256;
  void* p = std::aligned_alloc(256, n ? n : 256);
  if (!p) fail("out of memory");
  std::memset(p, 0xff, n);  // NaN floats: reading unwritten scratch shows
  return p;
}
inline void dev_free(void* p) { std::free(p); }
inline void dev_zero(void* p, std::size_t bytes, cudaStream_t) {
  if (bytes) std::memset(p, 0, bytes);
}
inline void dev_upload(void* dst, const void* src, std::size_t bytes, cudaStream_t) {
  if (bytes) std::memcpy(dst, src, bytes);
}
inline float* dyn_smem() { return reinterpret_cast<float*>(cta().smem.data()); }

// A launch a device would refuse throws, as the device launcher's error check does (launch_limits.hpp).
inline void check_launch(const dim3& grid, const dim3& block, std::size_t smem) {
  const std::string why = ::sinklab::backend::cuda::launch_limit_violation(grid, block, smem);
  SINKLAB_CHECK(why.empty(), "cuda_emu: a device would refuse this launch: ", why);
}

template <class... P, class... A>
void launch(void (*kern)(P...), dim3 grid, dim3 block, std::size_t smem, cudaStream_t, A&&... args) {
  if (grid.x == 0 || grid.y == 0 || grid.z == 0) return;
  check_launch(grid, block, smem);
  Cta& c = cta();
  ++c.launches;
  c.body = [&] { kern(args...); };
  for (unsigned z = 0; z < grid.z; ++z)
    for (unsigned y = 0; y < grid.y; ++y)
      for (unsigned x = 0; x < grid.x; ++x) run_cta(dim3(x, y, z), block, grid, smem);
  c.body = nullptr;
}

}  // namespace sinklab_emu

#define threadIdx (::sinklab_emu::thread_idx())
#define blockIdx (::sinklab_emu::cta().block_idx)
#define blockDim (::sinklab_emu::cta().block_dim)
#define gridDim (::sinklab_emu::cta().grid_dim)

inline void __syncthreads() { ::sinklab_emu::block_barrier(); }
inline void __syncwarp(unsigned = 0xffffffffu) { ::sinklab_emu::warp_barrier(); }
template <class T>
inline T __shfl_xor_sync(unsigned, T v, int mask) {
  return ::sinklab_emu::shfl_xor(v, mask);
}
