#pragma once
// Tensor<T, Device>: a shared, owning buffer plus shape, strides and offset. Views (reshape of contiguous data,
// permute, transpose, slice) share the buffer; contiguous()/clone() copy. CPU compute goes through Eigen maps.
#include <Eigen/Core>
#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <numeric>
#include <ostream>
#include <type_traits>
#include <vector>

#include "sinklab/core/bf16.hpp"
#include "sinklab/core/device.hpp"
#include "sinklab/core/error.hpp"
#include "sinklab/core/host_cache.hpp"
#include "sinklab/core/rng.hpp"
#include "sinklab/core/shape.hpp"
#include "sinklab/tensor/view.hpp"

namespace sinklab {

namespace detail {
template <class T>
using HostBuffer = std::vector<T, HostAllocator<T>>;  // 64-byte aligned, large blocks reused (core/host_cache.hpp)
}

template <class T, class Device = Cpu>
class Tensor;

template <class T>
class Tensor<T, Cpu> {
 public:
  using value_type = T;
  using device_type = Cpu;
  using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using MatrixMap = Eigen::Map<Matrix>;
  using ConstMatrixMap = Eigen::Map<const Matrix>;
  using ArrayMap = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
  using ConstArrayMap = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

  Tensor() = default;
  // Zero-initialised contiguous tensor.
  explicit Tensor(Shape shape)
      : buf_(std::make_shared<detail::HostBuffer<T>>(static_cast<std::size_t>(sinklab::numel(shape)), T(0))),
        shape_(std::move(shape)),
        strides_(contiguous_strides(shape_)) {
    for (auto d : shape_) SINKLAB_CHECK(d >= 0, "negative dimension in shape ", to_string(shape_));
  }

  static Tensor zeros(Shape s) { return Tensor(std::move(s)); }
  // Uninitialised contiguous tensor, for outputs that are overwritten entirely (GEMM results, copies).
  static Tensor empty(Shape s) {
    for (auto d : s) SINKLAB_CHECK(d >= 0, "negative dimension in shape ", to_string(s));
    Tensor t;
    t.buf_ = std::make_shared<detail::HostBuffer<T>>(static_cast<std::size_t>(sinklab::numel(s)));
    t.strides_ = contiguous_strides(s);
    t.shape_ = std::move(s);
    return t;
  }
  static Tensor full(Shape s, T v) {
    Tensor t(std::move(s));
    t.fill_(v);
    return t;
  }
  static Tensor ones(Shape s) { return full(std::move(s), T(1)); }
  static Tensor scalar(T v) { return full({}, v); }
  static Tensor from(Shape s, const std::vector<T>& values) {
    Tensor t(std::move(s));
    SINKLAB_CHECK(static_cast<int64_t>(values.size()) == t.numel(), "Tensor::from: ", values.size(),
                  " values for shape ", to_string(t.shape()));
    std::copy(values.begin(), values.end(), t.data());
    return t;
  }
  // N(mean, std²) from Philox(seed, stream); element n uses counter n, so any thread layout gives the same tensor.
  static Tensor randn(Shape s, uint64_t seed, double std = 1.0, double mean = 0.0, uint64_t stream = 0) {
    Tensor t(std::move(s));
    T* p = t.data();
    const int64_t n = t.numel();
#pragma omp parallel for if (n > (1 << 16))
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(mean + std * Philox::normal(seed, stream, i));
    return t;
  }
  static Tensor uniform(Shape s, uint64_t seed, double lo, double hi, uint64_t stream = 0) {
    Tensor t(std::move(s));
    T* p = t.data();
    const int64_t n = t.numel();
#pragma omp parallel for if (n > (1 << 16))
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(lo + (hi - lo) * Philox::uniform(seed, stream, i));
    return t;
  }
  static Tensor arange(int64_t n) {
    Tensor t({n});
    for (int64_t i = 0; i < n; ++i) t.data()[i] = static_cast<T>(i);
    return t;
  }

  // --- geometry ---------------------------------------------------------------------------------
  bool defined() const { return buf_ != nullptr; }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }
  int64_t offset() const { return offset_; }
  int64_t dim() const { return static_cast<int64_t>(shape_.size()); }
  int64_t size(int axis) const { return shape_[normalize_axis(axis, shape_.size(), "size")]; }
  int64_t numel() const { return sinklab::numel(shape_); }
  bool is_contiguous() const { return view::is_contiguous(shape_, strides_); }
  // True when both tensors view the same buffer (used to avoid aliasing in in-place updates).
  bool shares_storage(const Tensor& o) const { return buf_ == o.buf_; }
  // True when this handle is the only one on its buffer and views all of it, contiguously: it may be adopted.
  bool sole_owner() const {
    return buf_ && buf_.use_count() == 1 && offset_ == 0 && is_contiguous() &&
           static_cast<std::size_t>(numel()) == buf_->size();
  }

  T* data() { return buf_ ? buf_->data() + offset_ : nullptr; }
  const T* data() const { return buf_ ? buf_->data() + offset_ : nullptr; }

  T& operator[](std::initializer_list<int64_t> idx) { return data()[linear_offset(idx)]; }
  const T& operator[](std::initializer_list<int64_t> idx) const { return data()[linear_offset(idx)]; }
  T item() const {
    SINKLAB_CHECK(numel() == 1, "item() on a tensor of shape ", to_string(shape_));
    return *data();
  }

  // --- views ------------------------------------------------------------------------------------
  // Reshape: a view when contiguous, otherwise a contiguous copy. One dimension may be -1.
  Tensor reshape(Shape s) const {
    s = view::resolve_reshape(shape_, std::move(s));
    Tensor out = is_contiguous() ? *this : contiguous();
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
  // Elements [start, end) along `axis` with a positive step; a view.
  Tensor slice(int axis, int64_t start, int64_t end, int64_t step = 1) const {
    Tensor out = *this;
    view::slice(out.shape_, out.strides_, out.offset_, axis, start, end, step);
    return out;
  }
  Tensor contiguous() const { return is_contiguous() ? *this : clone(); }
  Tensor clone() const {
    Tensor out = empty(shape_);
    copy_strided(out.data());
    return out;
  }

  // --- whole-tensor helpers -----------------------------------------------------------------------
  Tensor& fill_(T v) {
    if (is_contiguous()) {
      std::fill(data(), data() + numel(), v);
    } else {
      for_each_offset([&](int64_t off, int64_t) { buf_->data()[offset_ + off] = v; });
    }
    return *this;
  }
  // Copies `src` (same shape, any strides) into this tensor's elements.
  Tensor& copy_(const Tensor& src) {
    SINKLAB_CHECK(src.shape_ == shape_, "copy_: shape ", to_string(src.shape_), " into ", to_string(shape_));
    const Tensor s = src.contiguous();
    if (is_contiguous()) {
      std::copy(s.data(), s.data() + numel(), data());
    } else {
      const T* sp = s.data();
      for_each_offset([&](int64_t off, int64_t linear) { buf_->data()[offset_ + off] = sp[linear]; });
    }
    return *this;
  }
  std::vector<T> to_vector() const {
    std::vector<T> v(static_cast<std::size_t>(numel()));
    copy_strided(v.data());
    return v;
  }
  template <class U>
  Tensor<U, Cpu> cast() const {
    const Tensor c = contiguous();
    Tensor<U, Cpu> out(shape_);
    const T* s = c.data();
    U* d = out.data();
    for (int64_t i = 0, n = numel(); i < n; ++i) d[i] = static_cast<U>(static_cast<std::conditional_t<std::is_same_v<T, bf16> || std::is_same_v<U, bf16>, float, T>>(s[i]));
    return out;
  }

  // Eigen views. matrix(): the tensor as rows × last-dim (contiguous only); array(): flat.
  MatrixMap matrix() {
    require_contiguous("matrix()");
    const int64_t cols = shape_.empty() ? 1 : shape_.back();
    return MatrixMap(data(), cols ? numel() / cols : 0, cols);
  }
  ConstMatrixMap matrix() const {
    require_contiguous("matrix()");
    const int64_t cols = shape_.empty() ? 1 : shape_.back();
    return ConstMatrixMap(data(), cols ? numel() / cols : 0, cols);
  }
  ArrayMap array() {
    require_contiguous("array()");
    return ArrayMap(data(), numel());
  }
  ConstArrayMap array() const {
    require_contiguous("array()");
    return ConstArrayMap(data(), numel());
  }

  // Calls f(storage offset relative to this view's base, linear row-major index) for every element.
  template <class F>
  void for_each_offset(F&& f) const {
    const int64_t n = numel();
    if (n == 0) return;
    const std::size_t r = shape_.size();
    std::vector<int64_t> idx(r, 0);
    int64_t off = 0;
    for (int64_t linear = 0; linear < n; ++linear) {
      f(off, linear);
      for (std::size_t d = r; d-- > 0;) {
        if (++idx[d] < shape_[d]) {
          off += strides_[d];
          break;
        }
        off -= strides_[d] * (shape_[d] - 1);
        idx[d] = 0;
      }
    }
  }

 private:
  void require_contiguous(const char* what) const {
    SINKLAB_CHECK(is_contiguous(), what, " needs a contiguous tensor; got shape ", to_string(shape_),
                  " (call contiguous())");
  }
  int64_t linear_offset(std::initializer_list<int64_t> idx) const {
    SINKLAB_CHECK(idx.size() == shape_.size(), "index of rank ", idx.size(), " into shape ", to_string(shape_));
    int64_t off = 0;
    std::size_t d = 0;
    for (auto i : idx) {
      SINKLAB_CHECK(i >= 0 && i < shape_[d], "index ", i, " out of range on axis ", d, " of shape ", to_string(shape_));
      off += i * strides_[d++];
    }
    return off;
  }
  void copy_strided(T* dst) const {
    if (is_contiguous()) {
      std::copy(data(), data() + numel(), dst);
      return;
    }
    const T* base = data();
    for_each_offset([&](int64_t off, int64_t linear) { dst[linear] = base[off]; });
  }

  std::shared_ptr<detail::HostBuffer<T>> buf_;
  Shape shape_;
  Shape strides_;
  int64_t offset_ = 0;
};

// Readable printing: shape header, then nested rows (long dims elided with "...").
template <class T>
std::ostream& operator<<(std::ostream& os, const Tensor<T, Cpu>& t) {
  os << "Tensor" << to_string(t.shape()) << ' ';
  if (!t.defined()) return os << "<undefined>";
  const auto v = t.to_vector();
  const auto& s = t.shape();
  if (s.empty()) return os << static_cast<double>(static_cast<std::conditional_t<std::is_same_v<T, bf16>, float, T>>(v[0]));
  const auto strides = contiguous_strides(s);
  auto rec = [&](auto&& self, std::size_t d, int64_t base) -> void {
    os << '[';
    const int64_t n = s[d];
    for (int64_t i = 0; i < n; ++i) {
      if (n > 8 && i == 3) {
        os << "..., ";
        i = n - 3;
      }
      if (d + 1 == s.size())
        os << static_cast<double>(static_cast<std::conditional_t<std::is_same_v<T, bf16>, float, T>>(v[base + i]));
      else
        self(self, d + 1, base + i * strides[d]);
      if (i + 1 < n) os << ", ";
    }
    os << ']';
  };
  rec(rec, 0, 0);
  return os;
}

}  // namespace sinklab
