#pragma once
// Private to sinklab::cuda: the registry's fused CUDA attention, instantiated once and spread over TUs (2-core CI).
//   tile_shard_*.cu     the heavy tile kernels, once per distinct TileTraits (Note [two template axes] in
//                       fused_cuda.cuh): 11 behind the 48 names (softmax_temperature's are softmax's), × (fp32:
//                       head-dim capacities 64/128/256; bf16 tensor cores: head dims 64/128) × (forward, dK/dV, dQ)
//   variant_shard_*.cu  per unique Variant: the per-row kernels and the host orchestration, which reach the tile
//                       kernels through tile_ops(), so no shard instantiates a tile kernel twice
//   registry.cu         attention_cuda_ops() and tile_ops()
#include <cstddef>
#include <utility>

#include "sinklab/attention/any_attention_cuda.hpp"
#include "sinklab/attention/fused_cuda.cuh"
#include "sinklab/attention/variants.hpp"

namespace sinklab::attention::cuda_instances {

using cuda_detail::TileOps;

template <class L>
struct tile_list_of;
template <class... Vs>
struct tile_list_of<TypeList<Vs...>> {
  using type = typename meta::Unique<TypeList<>, cuda_detail::tile_traits_of<Vs>...>::type;
};
// The distinct TileTraits of the registry, in first-use order.
using tile_list = typename tile_list_of<unique_variant_types>::type;
template <class V>
inline constexpr std::size_t tile_index_v = meta::IndexOf<cuda_detail::tile_traits_of<V>, tile_list>::value;

inline constexpr std::size_t tile_shard_count = 5;
inline constexpr std::size_t variant_shard_count = 4;

// TaylorExp<80> compiles to 80 unrolled divisions per score in every tile kernel (its Horner loop, outside the
// range where it returns exp): as slow to compile as four other kernels, so it gets shard 0 to itself and the
// others go round-robin over the remaining shards.
template <class TT>
inline constexpr bool heavy_tile = false;
template <int N, bool Shift, bool In>
inline constexpr bool heavy_tile<cuda_detail::TileTraits<kernel::TaylorExp<N>, Shift, In>> = true;
template <class L>
struct tile_heaviness;
template <class... TTs>
struct tile_heaviness<TypeList<TTs...>> {
  static constexpr bool value[] = {heavy_tile<TTs>...};
};
constexpr std::size_t tile_shard_of(std::size_t i) {
  std::size_t light_before = 0;
  for (std::size_t k = 0; k < i; ++k) light_before += tile_heaviness<tile_list>::value[k] ? 0 : 1;
  return tile_heaviness<tile_list>::value[i] ? 0 : 1 + light_before % (tile_shard_count - 1);
}

// The tile kernels of tile_list[i] (registry.cu).
const TileOps<float>& tile_ops(std::size_t i);

// table[t] for every tile index t with tile_shard_of(t) == Shard.
template <std::size_t Shard>
void fill_tile_shard(TileOps<float>* table) {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          if constexpr (tile_shard_of(I) == Shard)
            table[I] = cuda_detail::tile_ops_of<typename meta::At<I, tile_list>::type, float>();
        }(),
        ...);
  }
  (std::make_index_sequence<tile_list::size>{});
}

template <class V>
void forward_entry(const AttentionParams<float>& p, const Inputs<float>& in, Outputs<float>& out, cuda_stream_t s,
                   CudaMath math) {
  cuda_detail::forward_impl<V, float>(p, in, out, s, tile_ops(tile_index_v<V>), math);
}
template <class V>
void backward_entry(const AttentionParams<float>& p, const Inputs<float>& in, const Saved<float>& sv, const float* dout,
                    Grads<float>& g, cuda_stream_t s, CudaMath math) {
  cuda_detail::backward_impl<V, float>(p, in, sv, dout, g, s, tile_ops(tile_index_v<V>), math);
}

// table[u] for every unique-variant index u with u % variant_shard_count == Shard.
template <std::size_t Shard>
void fill_variant_shard(AttentionCudaOps* table) {
  [&]<std::size_t... U>(std::index_sequence<U...>) {
    (
        [&] {
          if constexpr (U % variant_shard_count == Shard) {
            using V = typename meta::At<U, unique_variant_types>::type;
            table[U] = AttentionCudaOps{{&forward_entry<V>, &backward_entry<V>}};
          }
        }(),
        ...);
  }
  (std::make_index_sequence<unique_variant_types::size>{});
}

void fill_tile_shard_0(TileOps<float>*);
void fill_tile_shard_1(TileOps<float>*);
void fill_tile_shard_2(TileOps<float>*);
void fill_tile_shard_3(TileOps<float>*);
void fill_tile_shard_4(TileOps<float>*);
void fill_variant_shard_0(AttentionCudaOps*);
void fill_variant_shard_1(AttentionCudaOps*);
void fill_variant_shard_2(AttentionCudaOps*);
void fill_variant_shard_3(AttentionCudaOps*);

}  // namespace sinklab::attention::cuda_instances
