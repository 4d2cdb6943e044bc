// Elementwise unary/binary kernels with broadcasting, their backwards, sum_to (deterministic reduction of a
// broadcast gradient back to an input's shape) and broadcast_to, the scalar-parameter pointwise ops, masked_fill,
// and concat / split / slice backward as strided copies. Math: sinklab/backend/functors/{elementwise,concat}.hpp.
#include "sinklab/backend/cuda/launch.cuh"
#include "sinklab/backend/cuda/ops.cuh"
#include "sinklab/backend/functors/concat.hpp"
#include "sinklab/backend/functors/elementwise.hpp"

namespace sinklab::backend::cuda {
namespace {
namespace fn = functors;
constexpr int kThreads = 256;

#define SINKLAB_GRID_STRIDE(i, n) \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)

template <class T, class F>
__global__ void unary_kernel(T* __restrict__ y, const T* __restrict__ x, fn::BroadcastIndexer<1> ix, int64_t n, F f) {
  SINKLAB_GRID_STRIDE(i, n) {
    int64_t off[1];
    ix.offsets(i, off);
    y[i] = static_cast<T>(f(static_cast<float>(x[off[0]])));
  }
}
// x, y, dy all read through one indexer each (any strides).
template <class T, class F>
__global__ void unary_bwd_kernel(T* __restrict__ dx, const T* x, const T* y, const T* dy, fn::BroadcastIndexer<3> ix,
                                 int64_t n, F f) {
  SINKLAB_GRID_STRIDE(i, n) {
    int64_t off[3];
    ix.offsets(i, off);
    dx[i] = static_cast<T>(f.grad(static_cast<float>(x[off[0]]), static_cast<float>(y[off[1]]), static_cast<float>(dy[off[2]])));
  }
}
template <class T, class F>
__global__ void binary_kernel(T* __restrict__ z, const T* a, const T* b, fn::BroadcastIndexer<2> ix, int64_t n, F f) {
  SINKLAB_GRID_STRIDE(i, n) {
    int64_t off[2];
    ix.offsets(i, off);
    z[i] = static_cast<T>(f(static_cast<float>(a[off[0]]), static_cast<float>(b[off[1]])));
  }
}
// Full-shape (broadcast) gradients; fp32 so sum_to accumulates without bf16 rounding per term.
template <class T, class F>
__global__ void binary_bwd_kernel(float* __restrict__ ga, float* __restrict__ gb, const T* a, const T* b, const T* dz,
                                  fn::BroadcastIndexer<3> ix, int64_t n, F f) {
  SINKLAB_GRID_STRIDE(i, n) {
    int64_t off[3];
    ix.offsets(i, off);
    const float av = static_cast<float>(a[off[0]]), bv = static_cast<float>(b[off[1]]), d = static_cast<float>(dz[off[2]]);
    ga[i] = f.grad_a(av, bv, d);
    gb[i] = f.grad_b(av, bv, d);
  }
}

// dst[off0] = src[off1]: raw copy (no conversion) between two strided layouts of the same shape.
template <class T>
__global__ void copy_kernel(T* __restrict__ dst, const T* __restrict__ src, fn::BroadcastIndexer<2> ix, int64_t n) {
  SINKLAB_GRID_STRIDE(i, n) {
    int64_t off[2];
    ix.offsets(i, off);
    dst[off[0]] = src[off[1]];
  }
}

// True when `from` broadcasts to exactly `to` (NumPy rules); never throws, so callers can name themselves.
bool broadcasts_to(const Shape& from, const Shape& to) {
  if (from.size() > to.size()) return false;
  const std::size_t lead = to.size() - from.size();
  for (std::size_t i = 0; i < from.size(); ++i)
    if (from[i] != 1 && from[i] != to[lead + i]) return false;
  return true;
}

// A unary functor's backward as a binary map (x, dy) → dx, for functors whose grad does not read y.
template <class F>
struct GradNoY {
  F f;
  __device__ float operator()(float x, float dy) const { return f.grad(x, 0.0f, dy); }
};

// out[j] = Σ over the reduced sub-index r of g[kept(j) + reduced(r)], in a fixed order (deterministic).
// `kept` maps an output index to g's offset; `red` enumerates the reduced axes (size-1 axes elsewhere).
template <class TIn, class TOut>
__global__ void sum_to_kernel(TOut* __restrict__ out, const TIn* __restrict__ g, fn::BroadcastIndexer<1> kept,
                              fn::BroadcastIndexer<1> red, int64_t n_out, int64_t n_red) {
  SINKLAB_GRID_STRIDE(j, n_out) {
    int64_t base[1];
    kept.offsets(j, base);
    float acc = 0.0f;
    for (int64_t r = 0; r < n_red; ++r) {
      int64_t off[1];
      red.offsets(r, off);
      acc += static_cast<float>(g[base[0] + off[0]]);
    }
    out[j] = static_cast<TOut>(acc);
  }
}

template <class F>
decltype(auto) with_unary(UnaryOp op, F&& f) {
  switch (op) {
    case UnaryOp::Neg: return f(fn::Neg{});
    case UnaryOp::Exp: return f(fn::Exp{});
    case UnaryOp::Log: return f(fn::Log{});
    case UnaryOp::Sqrt: return f(fn::Sqrt{});
    case UnaryOp::Square: return f(fn::Square{});
    case UnaryOp::Relu: return f(fn::Relu{});
    case UnaryOp::Sigmoid: return f(fn::Sigmoid{});
    case UnaryOp::Tanh: return f(fn::Tanh{});
    case UnaryOp::Silu: return f(fn::Silu{});
    case UnaryOp::GeluTanh: return f(fn::GeluTanh{});
    case UnaryOp::Gelu: return f(fn::Gelu{});
    case UnaryOp::Abs: return f(fn::Abs{});
  }
  SINKLAB_FAIL("unknown UnaryOp ", int(op));
}
template <class F>
decltype(auto) with_scalar(ScalarOp op, float a, float b, F&& f) {
  switch (op) {
    case ScalarOp::Elu: return f(fn::Elu{a});
    case ScalarOp::Clamp:
      SINKLAB_CHECK(!(b < a), "clamp: lo ", a, " > hi ", b);
      return f(fn::Clamp{a, b});
    case ScalarOp::Pow: return f(fn::Pow{a});
    case ScalarOp::AddScalar: return f(fn::AddScalar{a});
    case ScalarOp::MulScalar: return f(fn::MulScalar{a});
  }
  SINKLAB_FAIL("unknown ScalarOp ", int(op));
}
template <class F>
decltype(auto) with_binary(BinaryOp op, F&& f) {
  switch (op) {
    case BinaryOp::Add: return f(fn::Add{});
    case BinaryOp::Sub: return f(fn::Sub{});
    case BinaryOp::Mul: return f(fn::Mul{});
    case BinaryOp::Div: return f(fn::Div{});
    case BinaryOp::Max: return f(fn::Max{});
  }
  SINKLAB_FAIL("unknown BinaryOp ", int(op));
}

template <int N, class... Ts>
fn::BroadcastIndexer<N> indexer(const Shape& out, const Ts&... ts) {
  const Shape* shapes[N] = {&ts.shape()...};
  const Shape* strides[N] = {&ts.strides()...};
  return fn::make_indexer<N>(out, shapes, strides);
}

// Sum a contiguous full-shape gradient `g` (shape `full`) down to `target`.
template <class TIn, class TOut>
void sum_to_raw(TOut* out, const TIn* g, const Shape& full, const Shape& target, cudaStream_t s) {
  SINKLAB_CHECK(target.size() <= full.size(), "sum_to: ", to_string(target), " has more axes than ", to_string(full));
  const std::size_t lead = full.size() - target.size();
  const Shape gst = contiguous_strides(full);
  Shape kept_shape(full.size()), kept_st(full.size()), red_shape(full.size()), red_st(full.size());
  for (std::size_t d = 0; d < full.size(); ++d) {
    const int64_t t = d < lead ? 1 : target[d - lead];
    SINKLAB_CHECK(t == full[d] || t == 1, "sum_to: ", to_string(target), " does not broadcast to ", to_string(full));
    const bool reduced = t == 1 && full[d] != 1;
    kept_shape[d] = reduced ? 1 : full[d];
    kept_st[d] = reduced ? 0 : gst[d];
    red_shape[d] = reduced ? full[d] : 1;
    red_st[d] = reduced ? gst[d] : 0;
  }
  const Shape* ks[1] = {&kept_shape};
  const Shape* kt[1] = {&kept_st};
  const Shape* rs[1] = {&red_shape};
  const Shape* rt[1] = {&red_st};
  // Indexers read strides directly (make_indexer would zero the strides of size-1 axes, which is what we want).
  const auto kept = fn::make_indexer<1>(kept_shape, ks, kt);
  const auto red = fn::make_indexer<1>(red_shape, rs, rt);
  const int64_t n_out = numel(kept_shape), n_red = numel(red_shape);
  if (n_out == 0) return;
  launch_kernel(sum_to_kernel<TIn, TOut>, grid_for(n_out, kThreads), kThreads, 0, s, out, g, kept, red, n_out, n_red);
}

// Copies each piece between `joined` (data + its strides) and the pieces; into_joined: concat, else split.
template <class T>
void copy_pieces(T* joined, const Shape& joined_strides, int axis, const std::vector<int64_t>& starts,
                 const std::vector<const T*>& src_pieces, const std::vector<T*>& dst_pieces,
                 const std::vector<Shape>& piece_shapes, const std::vector<Shape>& piece_strides, bool into_joined,
                 cudaStream_t s) {
  for (std::size_t k = 0; k < piece_shapes.size(); ++k) {
    const auto c = fn::piece_copy(joined_strides, axis, starts[k], piece_shapes[k], piece_strides[k], into_joined);
    if (c.n == 0) continue;
    T* dst = into_joined ? joined + c.base : dst_pieces[k];
    const T* src = into_joined ? src_pieces[k] : joined + c.base;
    launch_kernel(copy_kernel<T>, grid_for(c.n, kThreads), kThreads, 0, s, dst, src, c.ix, c.n);
  }
}

}  // namespace

template <class T>
Tensor<T, Cuda> unary(UnaryOp op, const Tensor<T, Cuda>& x, cudaStream_t s) {
  auto y = Tensor<T, Cuda>::empty(x.shape(), s);
  const int64_t n = x.numel();
  if (n == 0) return y;
  const auto ix = indexer<1>(x.shape(), x);
  with_unary(op, [&](auto f) {
    launch_kernel(unary_kernel<T, decltype(f)>, grid_for(n, kThreads), kThreads, 0, s, y.data(), x.data(), ix, n, f);
  });
  return y;
}

template <class T>
Tensor<T, Cuda> unary_backward(UnaryOp op, const Tensor<T, Cuda>& x, const Tensor<T, Cuda>& y, const Tensor<T, Cuda>& dy,
                               cudaStream_t s) {
  SINKLAB_CHECK(x.shape() == y.shape() && x.shape() == dy.shape(), "unary_backward: shapes ", to_string(x.shape()), ", ",
                to_string(y.shape()), ", ", to_string(dy.shape()));
  auto dx = Tensor<T, Cuda>::empty(x.shape(), s);
  const int64_t n = x.numel();
  if (n == 0) return dx;
  const auto ix = indexer<3>(x.shape(), x, y, dy);
  with_unary(op, [&](auto f) {
    launch_kernel(unary_bwd_kernel<T, decltype(f)>, grid_for(n, kThreads), kThreads, 0, s, dx.data(), x.data(), y.data(), dy.data(), ix, n, f);
  });
  return dx;
}

template <class T>
Tensor<T, Cuda> binary(BinaryOp op, const Tensor<T, Cuda>& a, const Tensor<T, Cuda>& b, cudaStream_t s) {
  const Shape out = broadcast_shapes(a.shape(), b.shape());
  auto z = Tensor<T, Cuda>::empty(out, s);
  const int64_t n = z.numel();
  if (n == 0) return z;
  const auto ix = indexer<2>(out, a, b);
  with_binary(op, [&](auto f) {
    launch_kernel(binary_kernel<T, decltype(f)>, grid_for(n, kThreads), kThreads, 0, s, z.data(), a.data(), b.data(), ix, n, f);
  });
  return z;
}

template <class T>
void binary_backward(BinaryOp op, const Tensor<T, Cuda>& a, const Tensor<T, Cuda>& b, const Tensor<T, Cuda>& dz,
                     Tensor<T, Cuda>& da, Tensor<T, Cuda>& db, cudaStream_t s) {
  const Shape out = broadcast_shapes(a.shape(), b.shape());
  SINKLAB_CHECK(dz.shape() == out, "binary_backward: dz shape ", to_string(dz.shape()), ", expected ", to_string(out));
  const int64_t n = numel(out);
  auto ga = Tensor<float, Cuda>::empty(out, s), gb = Tensor<float, Cuda>::empty(out, s);
  da = Tensor<T, Cuda>::zeros(a.shape(), s);
  db = Tensor<T, Cuda>::zeros(b.shape(), s);
  if (n == 0) return;
  const auto ix = indexer<3>(out, a, b, dz);
  with_binary(op, [&](auto f) {
    launch_kernel(binary_bwd_kernel<T, decltype(f)>, grid_for(n, kThreads), kThreads, 0, s, ga.data(), gb.data(), a.data(), b.data(), dz.data(), ix, n, f);
  });
  sum_to_raw(da.data(), ga.data(), out, a.shape(), s);
  sum_to_raw(db.data(), gb.data(), out, b.shape(), s);
}

template <class T>
Tensor<T, Cuda> sum_to(const Tensor<T, Cuda>& g, const Shape& shape, cudaStream_t s) {
  const auto gc = g.contiguous(s);
  auto out = Tensor<T, Cuda>::zeros(shape, s);
  sum_to_raw(out.data(), gc.data(), gc.shape(), shape, s);
  return out;
}

template <class T>
Tensor<T, Cuda> broadcast_to(const Tensor<T, Cuda>& g, const Shape& shape, float scale, cudaStream_t s) {
  SINKLAB_CHECK(broadcasts_to(g.shape(), shape), "broadcast_to: cannot expand ", to_string(g.shape()), " to ",
                to_string(shape));
  auto out = Tensor<T, Cuda>::empty(shape, s);
  const int64_t n = out.numel();
  if (n == 0) return out;
  const auto ix = indexer<1>(shape, g);
  launch_kernel(unary_kernel<T, fn::MulScalar>, grid_for(n, kThreads), kThreads, 0, s, out.data(), g.data(), ix, n,
                fn::MulScalar{scale});
  return out;
}

template <class T>
Tensor<T, Cuda> unary_scalar(ScalarOp op, const Tensor<T, Cuda>& x, float a, float b, cudaStream_t s) {
  return with_scalar(op, a, b, [&](auto f) {
    auto y = Tensor<T, Cuda>::empty(x.shape(), s);
    const int64_t n = x.numel();
    if (n == 0) return y;
    const auto ix = indexer<1>(x.shape(), x);
    launch_kernel(unary_kernel<T, decltype(f)>, grid_for(n, kThreads), kThreads, 0, s, y.data(), x.data(), ix, n, f);
    return y;
  });
}

template <class T>
Tensor<T, Cuda> unary_scalar_backward(ScalarOp op, const Tensor<T, Cuda>& x, const Tensor<T, Cuda>& dy, float a, float b,
                                      cudaStream_t s) {
  SINKLAB_CHECK(x.shape() == dy.shape(), "unary_scalar_backward: x of shape ", to_string(x.shape()), " but dy of shape ",
                to_string(dy.shape()));
  return with_scalar(op, a, b, [&](auto f) {
    auto dx = Tensor<T, Cuda>::empty(x.shape(), s);
    const int64_t n = x.numel();
    if (n == 0) return dx;
    const auto ix = indexer<2>(x.shape(), x, dy);
    launch_kernel(binary_kernel<T, GradNoY<decltype(f)>>, grid_for(n, kThreads), kThreads, 0, s, dx.data(), x.data(), dy.data(), ix, n,
                                                               GradNoY<decltype(f)>{f});
    return dx;
  });
}

namespace {
void check_mask(const char* op, const Shape& mask, const Shape& x) {
  SINKLAB_CHECK(broadcasts_to(mask, x), op, ": mask of shape ", to_string(mask), " does not broadcast to the input shape ",
                to_string(x));
}
}  // namespace

template <class T>
Tensor<T, Cuda> masked_fill(const Tensor<T, Cuda>& x, const Tensor<T, Cuda>& mask, float value, cudaStream_t s) {
  check_mask("masked_fill", mask.shape(), x.shape());
  auto y = Tensor<T, Cuda>::empty(x.shape(), s);
  const int64_t n = y.numel();
  if (n == 0) return y;
  const auto ix = indexer<2>(x.shape(), x, mask);
  launch_kernel(binary_kernel<T, fn::MaskedFill>, grid_for(n, kThreads), kThreads, 0, s, y.data(), x.data(), mask.data(), ix, n,
                fn::MaskedFill{value});
  return y;
}

template <class T>
Tensor<T, Cuda> masked_fill_backward(const Tensor<T, Cuda>& dy, const Tensor<T, Cuda>& mask, cudaStream_t s) {
  check_mask("masked_fill_backward", mask.shape(), dy.shape());
  auto dx = Tensor<T, Cuda>::empty(dy.shape(), s);
  const int64_t n = dx.numel();
  if (n == 0) return dx;
  const auto ix = indexer<2>(dy.shape(), dy, mask);
  launch_kernel(binary_kernel<T, fn::MaskedFillGrad>, grid_for(n, kThreads), kThreads, 0, s, dx.data(), dy.data(), mask.data(), ix, n,
                fn::MaskedFillGrad{});
  return dx;
}

template <class T>
Tensor<T, Cuda> concat(const std::vector<Tensor<T, Cuda>>& xs, int axis, cudaStream_t s) {
  std::vector<Shape> shapes, strides;
  std::vector<const T*> src;
  std::vector<int64_t> sizes;
  for (const auto& x : xs) {
    SINKLAB_CHECK(x.defined(), "concat: input ", shapes.size(), " is undefined");
    shapes.push_back(x.shape());
    strides.push_back(x.strides());
    src.push_back(x.data());
  }
  const Shape out_shape = fn::concat_shape(shapes, axis);  // checks; normalises axis
  for (const auto& sh : shapes) sizes.push_back(sh[axis]);
  auto out = Tensor<T, Cuda>::empty(out_shape, s);
  if (out.numel() == 0) return out;
  copy_pieces<T>(out.data(), out.strides(), axis, fn::axis_offsets(sizes), src, {}, shapes, strides, true, s);
  return out;
}

template <class T>
std::vector<Tensor<T, Cuda>> split(const Tensor<T, Cuda>& x, const std::vector<int64_t>& sizes, int axis,
                                   cudaStream_t s) {
  fn::check_split(x.shape(), sizes, axis);
  std::vector<Tensor<T, Cuda>> out;
  std::vector<Shape> shapes, strides;
  std::vector<T*> dst;
  for (auto len : sizes) {
    Shape sh = x.shape();
    sh[axis] = len;
    out.push_back(Tensor<T, Cuda>::empty(sh, s));
    shapes.push_back(sh);
    strides.push_back(out.back().strides());
    dst.push_back(out.back().data());
  }
  if (x.numel() == 0) return out;
  // copy_pieces only reads from `joined` when splitting.
  copy_pieces<T>(const_cast<T*>(x.data()), x.strides(), axis, fn::axis_offsets(sizes), {}, dst, shapes, strides, false, s);
  return out;
}

namespace {
// g must be x_shape with `len` on `axis`.
void check_piece(const char* op, const Shape& g, const Shape& x_shape, int axis, int64_t len) {
  Shape want = x_shape;
  want[axis] = len;
  SINKLAB_CHECK(g == want, op, ": gradient of shape ", to_string(g), " for a piece of shape ", to_string(want),
                " (input ", to_string(x_shape), ", axis ", axis, ")");
}
}  // namespace

template <class T>
Tensor<T, Cuda> split_backward(const std::vector<Tensor<T, Cuda>>& gs, const Shape& x_shape,
                               const std::vector<int64_t>& sizes, int axis, cudaStream_t s) {
  fn::check_split(x_shape, sizes, axis, "split_backward");  // normalises axis
  SINKLAB_CHECK(gs.size() == sizes.size(), "split_backward: ", gs.size(), " piece gradients for ", sizes.size(),
                " pieces");
  bool all = true;
  std::vector<Shape> shapes, strides;
  std::vector<const T*> src;
  std::vector<int64_t> starts;
  const std::vector<int64_t> offs = fn::axis_offsets(sizes);
  for (std::size_t k = 0; k < gs.size(); ++k) {
    if (!gs[k].defined()) {
      all = false;
      continue;
    }
    check_piece("split_backward", gs[k].shape(), x_shape, axis, sizes[k]);
    shapes.push_back(gs[k].shape());
    strides.push_back(gs[k].strides());
    src.push_back(gs[k].data());
    starts.push_back(offs[k]);
  }
  auto dx = all ? Tensor<T, Cuda>::empty(x_shape, s) : Tensor<T, Cuda>::zeros(x_shape, s);
  if (dx.numel() == 0) return dx;
  copy_pieces<T>(dx.data(), dx.strides(), axis, starts, src, {}, shapes, strides, true, s);
  return dx;
}

template <class T>
Tensor<T, Cuda> slice_backward(const Tensor<T, Cuda>& g, const Shape& x_shape, int axis, int64_t start, cudaStream_t s) {
  axis = normalize_axis(axis, x_shape.size(), "slice_backward");
  SINKLAB_CHECK(g.dim() == static_cast<int64_t>(x_shape.size()), "slice_backward: gradient of shape ",
                to_string(g.shape()), " for input ", to_string(x_shape));
  const int64_t len = g.shape()[axis];
  check_piece("slice_backward", g.shape(), x_shape, axis, len);
  SINKLAB_CHECK(start >= 0 && start + len <= x_shape[axis], "slice_backward: [", start, ", ", start + len,
                ") on axis ", axis, " is outside input ", to_string(x_shape));
  auto dx = Tensor<T, Cuda>::zeros(x_shape, s);
  if (g.numel() == 0) return dx;
  copy_pieces<T>(dx.data(), dx.strides(), axis, {start}, {g.data()}, {}, {g.shape()}, {g.strides()}, true, s);
  return dx;
}

#define SINKLAB_INSTANTIATE(T)                                                                                      \
  template Tensor<T, Cuda> unary<T>(UnaryOp, const Tensor<T, Cuda>&, cudaStream_t);                                \
  template Tensor<T, Cuda> unary_backward<T>(UnaryOp, const Tensor<T, Cuda>&, const Tensor<T, Cuda>&,              \
                                             const Tensor<T, Cuda>&, cudaStream_t);                                \
  template Tensor<T, Cuda> binary<T>(BinaryOp, const Tensor<T, Cuda>&, const Tensor<T, Cuda>&, cudaStream_t);      \
  template void binary_backward<T>(BinaryOp, const Tensor<T, Cuda>&, const Tensor<T, Cuda>&, const Tensor<T, Cuda>&, \
                                   Tensor<T, Cuda>&, Tensor<T, Cuda>&, cudaStream_t);                              \
  template Tensor<T, Cuda> sum_to<T>(const Tensor<T, Cuda>&, const Shape&, cudaStream_t);                         \
  template Tensor<T, Cuda> broadcast_to<T>(const Tensor<T, Cuda>&, const Shape&, float, cudaStream_t);             \
  template Tensor<T, Cuda> unary_scalar<T>(ScalarOp, const Tensor<T, Cuda>&, float, float, cudaStream_t);          \
  template Tensor<T, Cuda> unary_scalar_backward<T>(ScalarOp, const Tensor<T, Cuda>&, const Tensor<T, Cuda>&, float, \
                                                    float, cudaStream_t);                                          \
  template Tensor<T, Cuda> masked_fill<T>(const Tensor<T, Cuda>&, const Tensor<T, Cuda>&, float, cudaStream_t);    \
  template Tensor<T, Cuda> masked_fill_backward<T>(const Tensor<T, Cuda>&, const Tensor<T, Cuda>&, cudaStream_t);  \
  template Tensor<T, Cuda> concat<T>(const std::vector<Tensor<T, Cuda>>&, int, cudaStream_t);                      \
  template std::vector<Tensor<T, Cuda>> split<T>(const Tensor<T, Cuda>&, const std::vector<int64_t>&, int,         \
                                                 cudaStream_t);                                                    \
  template Tensor<T, Cuda> split_backward<T>(const std::vector<Tensor<T, Cuda>>&, const Shape&,                   \
                                             const std::vector<int64_t>&, int, cudaStream_t);                      \
  template Tensor<T, Cuda> slice_backward<T>(const Tensor<T, Cuda>&, const Shape&, int, int64_t, cudaStream_t);
SINKLAB_INSTANTIATE(float)
SINKLAB_INSTANTIATE(bf16)

}  // namespace sinklab::backend::cuda
