#pragma once
// The CUB algorithms our kernels call, for the emulator: cub::BlockReduce inside kernels, and the device-wide
// DeviceReduce::Sum and DeviceRadixSort::SortPairs on the host (device memory is host memory here). Reached
// through the shims cub/block/block_reduce.cuh, cub/device/device_reduce.cuh and cub/device/device_radix_sort.cuh
// in this folder (README.md here).
//
// The contracts are CUB's, kept strictly so that a kernel that breaks one fails here too:
//  - BlockReduce's result is defined in thread 0 only; the other threads get their own input back.
//  - Its TempStorage may be reused only after a __syncthreads: thread 0 reads every thread's slot after the
//    reduction's barrier, so a thread that runs ahead and writes its slot again (SINKLAB_EMU_ORDER=rev or rand)
//    changes thread 0's result, as the race would on a device.
//  - The device-wide calls size their temporary storage first (d_temp_storage == nullptr) and must then be given it.
// Results agree with CUB's up to the order of the additions: the emulated fold is left to right.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <numeric>
#include <type_traits>
#include <vector>

#include "runtime_emu.hpp"

namespace cub {

template <class T, int BlockThreads, int... Unused>
class BlockReduce {
 public:
  struct TempStorage {
    T slot[BlockThreads];
  };
  explicit BlockReduce(TempStorage& storage) : s_(storage) {}

  template <class Op>
  T Reduce(T input, Op op) {
    const int n = int(blockDim.x * blockDim.y * blockDim.z);
    if (n != BlockThreads) ::sinklab_emu::fail("cub::BlockReduce: the block's size differs from BlockThreads");
    const int t = int(threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z));
    s_.slot[t] = input;
    __syncthreads();
    if (t != 0) return input;
    T acc = s_.slot[0];
    for (int i = 1; i < n; ++i) acc = op(acc, s_.slot[i]);
    return acc;
  }
  T Sum(T input) {
    return Reduce(input, [](const T& a, const T& b) { return a + b; });
  }

 private:
  TempStorage& s_;
};

namespace detail {
// Checks the two-phase protocol: a size query (no storage) sets the size; a real call must bring storage.
inline bool size_query(void* d_temp_storage, std::size_t& temp_storage_bytes) {
  if (d_temp_storage) return false;
  temp_storage_bytes = 1;
  return true;
}
}  // namespace detail

struct DeviceReduce {
  template <class InputIt, class OutputIt, class NumItems>
  static cudaError_t Sum(void* d_temp_storage, std::size_t& temp_storage_bytes, InputIt d_in, OutputIt d_out,
                         NumItems num_items, cudaStream_t = nullptr) {
    if (detail::size_query(d_temp_storage, temp_storage_bytes)) return cudaSuccess;
    using V = typename std::iterator_traits<InputIt>::value_type;
    V acc = V(0);
    for (NumItems i = 0; i < num_items; ++i) acc = acc + d_in[i];
    *d_out = acc;
    return cudaSuccess;
  }
};

struct DeviceRadixSort {
  // Stable sort of (key, value) pairs by the key bits [begin_bit, end_bit), in the keys' numeric order (signed
  // integers: negative first, as CUB's bit flip gives).
  template <class Key, class Value, class NumItems>
  static cudaError_t SortPairs(void* d_temp_storage, std::size_t& temp_storage_bytes, const Key* keys_in,
                               Key* keys_out, const Value* values_in, Value* values_out, NumItems num_items,
                               int begin_bit = 0, int end_bit = int(sizeof(Key) * 8), cudaStream_t = nullptr) {
    static_assert(std::is_integral_v<Key>, "emulated SortPairs: integral keys only");
    if (detail::size_query(d_temp_storage, temp_storage_bytes)) return cudaSuccess;
    using U = std::make_unsigned_t<Key>;
    const int bits = int(sizeof(Key) * 8);
    const U sign_flip = std::is_signed_v<Key> ? U(U(1) << (bits - 1)) : U(0);
    const U width_mask = end_bit - begin_bit >= bits ? U(~U(0)) : U((U(1) << (end_bit - begin_bit)) - 1);
    auto radix = [&](Key k) { return U((U(k) ^ sign_flip) >> begin_bit) & width_mask; };
    std::vector<std::size_t> order(static_cast<std::size_t>(num_items));
    std::iota(order.begin(), order.end(), std::size_t(0));
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return radix(keys_in[a]) < radix(keys_in[b]); });
    std::vector<Key> k(order.size());
    std::vector<Value> v(order.size());
    for (std::size_t i = 0; i < order.size(); ++i) k[i] = keys_in[order[i]], v[i] = values_in[order[i]];
    std::copy(k.begin(), k.end(), keys_out);
    std::copy(v.begin(), v.end(), values_out);
    return cudaSuccess;
  }
};

}  // namespace cub
