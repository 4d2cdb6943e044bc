#pragma once
// Tensor<T, Cuda>: device storage from the caching allocator plus shape, strides and offset, mirroring the CPU
// tensor's geometry API (views share storage; contiguous()/clone() copy). Host transfers: to_device / to_host.
// All work is queued on the stream passed in (default: the legacy null stream); to_host synchronises it.
#include <cuda_runtime.h>

#include <memory>
#include <numeric>
#include <vector>

#include "sinklab/backend/cuda/allocator.cuh"
#include "sinklab/backend/cuda/check.cuh"
#include "sinklab/backend/functors/broadcast.hpp"
#include "sinklab/tensor/tensor.hpp"
#include "sinklab/tensor/view.hpp"

namespace sinklab {

namespace backend::cuda {
// Owns one allocation from the caching pool; returns it on destruction (stream-ordered, see caching_pool.hpp).
struct DeviceStorage {
  void* ptr = nullptr;
  std::size_t bytes = 0;
  DeviceStorage(std::size_t n, cudaStream_t s) : ptr(n ? device_allocate(n, s) : nullptr), bytes(n) {}
  ~DeviceStorage() {
    if (ptr) device_free(ptr);
  }
  DeviceStorage(const DeviceStorage&) = delete;
  DeviceStorage& operator=(const DeviceStorage&) = delete;
};

inline unsigned grid_for(int64_t n, int threads) {
  const int64_t b = (n + threads - 1) / threads;
  return static_cast<unsigned>(b < 65535 * 16 ? (b > 0 ? b : 1) : 65535 * 16);  // grid-stride beyond this
}

// dst[i] = src[offset(i)] for a strided source, dst contiguous; and dst[offset(i)] = v. Their kernels live in
// src/cuda/tensor_kernels.cu, so that this header is plain C++ (any host compiler, with the toolkit's headers).
template <class T>
void gather_strided(T* dst, const T* src, const functors::BroadcastIndexer<1>& ix, int64_t n, cudaStream_t s);
template <class T>
void fill_strided(T* dst, T v, const functors::BroadcastIndexer<1>& ix, int64_t n, cudaStream_t s);
}  // namespace backend::cuda

template <class T>
class Tensor<T, Cuda> {
 public:
  using value_type = T;
  using device_type = Cuda;

  Tensor() = default;
  // Uninitialised contiguous tensor.
  static Tensor empty(Shape s, cudaStream_t stream = nullptr) {
    for (auto d : s) SINKLAB_CHECK(d >= 0, "negative dimension in shape ", to_string(s));
    Tensor t;
    t.buf_ = std::make_shared<backend::cuda::DeviceStorage>(static_cast<std::size_t>(sinklab::numel(s)) * sizeof(T),
                                                            stream);
    t.strides_ = contiguous_strides(s);
    t.shape_ = std::move(s);
    return t;
  }
  static Tensor zeros(Shape s, cudaStream_t stream = nullptr) {
    Tensor t = empty(std::move(s), stream);
    if (t.numel()) SINKLAB_CUDA_CHECK(cudaMemsetAsync(t.data(), 0, t.numel() * sizeof(T), stream));  // 0 bits = +0 for float and bf16
    return t;
  }
  static Tensor full(Shape s, T v, cudaStream_t stream = nullptr) {
    Tensor t = empty(std::move(s), stream);
    t.fill_(v, stream);
    return t;
  }
  static Tensor from_host(const Tensor<T, Cpu>& h, cudaStream_t stream = nullptr) {
    const Tensor<T, Cpu> c = h.contiguous();
    Tensor t = empty(c.shape(), stream);
    if (t.numel())
      SINKLAB_CUDA_CHECK(cudaMemcpyAsync(t.data(), c.data(), t.numel() * sizeof(T), cudaMemcpyHostToDevice, stream));
    SINKLAB_CUDA_CHECK(cudaStreamSynchronize(stream));  // `c` may be a temporary
    return t;
  }

  // --- geometry (same meaning as Tensor<T, Cpu>) -------------------------------------------------
  bool defined() const { return buf_ != nullptr; }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }
  int64_t offset() const { return offset_; }
  int64_t dim() const { return static_cast<int64_t>(shape_.size()); }
  int64_t size(int axis) const { return shape_[normalize_axis(axis, shape_.size(), "size")]; }
  int64_t numel() const { return sinklab::numel(shape_); }
  bool is_contiguous() const { return view::is_contiguous(shape_, strides_); }
  bool shares_storage(const Tensor& o) const { return buf_ == o.buf_; }
  T* data() { return buf_ ? static_cast<T*>(buf_->ptr) + offset_ : nullptr; }
  const T* data() const { return buf_ ? static_cast<const T*>(buf_->ptr) + offset_ : nullptr; }

  // --- views ------------------------------------------------------------------------------------
  Tensor reshape(Shape s, cudaStream_t stream = nullptr) const {
    s = view::resolve_reshape(shape_, std::move(s));
    Tensor out = is_contiguous() ? *this : contiguous(stream);
    out.shape_ = std::move(s);
    out.strides_ = contiguous_strides(out.shape_);
    return out;
  }
  Tensor permute(const std::vector<int>& order) const {
    Tensor out = *this;
    view::permute(shape_, strides_, order, out.shape_, out.strides_);
    return out;
  }
  Tensor transpose(int a, int b) const { return permute(view::transpose_order(shape_.size(), a, b)); }
  Tensor slice(int axis, int64_t start, int64_t end, int64_t step = 1) const {
    Tensor out = *this;
    view::slice(out.shape_, out.strides_, out.offset_, axis, start, end, step);
    return out;
  }
  Tensor contiguous(cudaStream_t stream = nullptr) const { return is_contiguous() ? *this : clone(stream); }
  Tensor clone(cudaStream_t stream = nullptr) const {
    Tensor out = empty(shape_, stream);
    const int64_t n = numel();
    if (n == 0) return out;
    if (is_contiguous()) {
      SINKLAB_CUDA_CHECK(cudaMemcpyAsync(out.data(), data(), n * sizeof(T), cudaMemcpyDeviceToDevice, stream));
      return out;
    }
    const Shape* shapes[1] = {&shape_};
    const Shape* strides[1] = {&strides_};
    const auto ix = backend::functors::make_indexer<1>(shape_, shapes, strides);
    backend::cuda::gather_strided(out.data(), data(), ix, n, stream);
    return out;
  }
  Tensor& fill_(T v, cudaStream_t stream = nullptr) {
    const int64_t n = numel();
    if (n == 0) return *this;
    const Shape* shapes[1] = {&shape_};
    const Shape* strides[1] = {&strides_};
    const auto ix = backend::functors::make_indexer<1>(shape_, shapes, strides);
    backend::cuda::fill_strided(data(), v, ix, n, stream);
    return *this;
  }

  // The storage is also used by work on `stream` (not the one it was made on): once freed, it is not handed out
  // again before that work is done (Note [record_stream] in caching_pool.hpp). Call it when queuing such work.
  void record_stream(cudaStream_t stream) const {
    if (buf_ && buf_->ptr) backend::cuda::record_stream(buf_->ptr, stream);
  }

  // Overwrites this (contiguous) tensor with a host tensor of its shape, in place: views and handles of it see the new
  // values. Synchronises `stream`.
  Tensor& copy_from_host(const Tensor<T, Cpu>& h, cudaStream_t stream = nullptr) {
    SINKLAB_CHECK(h.shape() == shape_, "copy_from_host: shape ", to_string(h.shape()), " into ", to_string(shape_));
    SINKLAB_CHECK(is_contiguous(), "copy_from_host: into a non-contiguous view of shape ", to_string(shape_));
    const Tensor<T, Cpu> c = h.contiguous();
    if (numel())
      SINKLAB_CUDA_CHECK(cudaMemcpyAsync(data(), c.data(), numel() * sizeof(T), cudaMemcpyHostToDevice, stream));
    SINKLAB_CUDA_CHECK(cudaStreamSynchronize(stream));  // `c` may be a temporary
    return *this;
  }

  // Copies to a contiguous host tensor; synchronises `stream`.
  Tensor<T, Cpu> to_host(cudaStream_t stream = nullptr) const {
    const Tensor c = contiguous(stream);
    Tensor<T, Cpu> h(shape_);
    if (numel())
      SINKLAB_CUDA_CHECK(cudaMemcpyAsync(h.data(), c.data(), numel() * sizeof(T), cudaMemcpyDeviceToHost, stream));
    SINKLAB_CUDA_CHECK(cudaStreamSynchronize(stream));
    return h;
  }

 private:
  std::shared_ptr<backend::cuda::DeviceStorage> buf_;
  Shape shape_;
  Shape strides_;
  int64_t offset_ = 0;
};

template <class T>
Tensor<T, Cuda> to_device(const Tensor<T, Cpu>& h, cudaStream_t stream = nullptr) {
  return Tensor<T, Cuda>::from_host(h, stream);
}

}  // namespace sinklab
