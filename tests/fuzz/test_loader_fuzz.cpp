// Seeded mutation fuzzing of every reader of model and token files: valid tiny files written here (safetensors,
// a model's weights against its config, llama2.c, llm.c and LITPKDS tokens) get bytes flipped, header lengths
// changed, truncated and extended, and shapes, offsets, dtypes and integers replaced with edge values. Each case
// must end in a sinklab::Error or a load that is checked to be correct: no crash (CI runs this under ASan+UBSan),
// no hang, no other exception type, and no single allocation larger than the file justifies (operator new is
// replaced below to measure that). Deterministic: the same cases and counts on every run.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <new>
#include <span>
#include <typeinfo>

#include "io/tmpdir.hpp"
#include "nn/model_files.hpp"
#include "sinklab/data/dataset.hpp"
#include "sinklab/data/token_file.hpp"
#include "sinklab/io/model_shapes.hpp"
#include "sinklab/probe/llama2c.hpp"

namespace {
std::atomic<bool> g_tracking{false};
std::atomic<std::size_t> g_largest{0};
void note(std::size_t n) {
  if (!g_tracking.load(std::memory_order_relaxed)) return;
  std::size_t seen = g_largest.load(std::memory_order_relaxed);
  while (n > seen && !g_largest.compare_exchange_weak(seen, n, std::memory_order_relaxed)) {
  }
}
}  // namespace

// Every C++ allocation of the process (containers, strings, tensors through HostCache) comes through here. All
// forms are replaced, so that each pairs with the free() below (ASan checks new/free pairs).
namespace {
void* allocate(std::size_t n, std::size_t align) {
  note(n);
  const std::size_t bytes = std::max<std::size_t>(1, (n + align - 1) / align * align);
  return align <= alignof(std::max_align_t) ? std::malloc(bytes) : std::aligned_alloc(align, bytes);
}
void* allocate_or_throw(std::size_t n, std::size_t align) {
  if (void* p = allocate(n, align)) return p;
  throw std::bad_alloc();
}
constexpr std::size_t kDefault = alignof(std::max_align_t);
}  // namespace
void* operator new(std::size_t n) { return allocate_or_throw(n, kDefault); }
void* operator new[](std::size_t n) { return allocate_or_throw(n, kDefault); }
void* operator new(std::size_t n, std::align_val_t a) { return allocate_or_throw(n, std::size_t(a)); }
void* operator new[](std::size_t n, std::align_val_t a) { return allocate_or_throw(n, std::size_t(a)); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return allocate(n, kDefault); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return allocate(n, kDefault); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return allocate(n, std::size_t(a));
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return allocate(n, std::size_t(a));
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }

using namespace sinklab;
using Bytes = std::vector<std::byte>;

namespace {
// splitmix64 (data::SplitMix64): a fixed generator, so the cases are the same with every standard library.
struct Rng : data::SplitMix64 {
  uint64_t below(uint64_t n) { return n ? SplitMix64::below(n) : 0; }
  bool coin() { return next() & 1; }
};

// Integers that break naive readers: zero, signs, the int32/int64/uint64 edges, 2^32 + 65 (which wraps to 65).
int64_t edge_int(Rng& r) {
  static const int64_t values[] = {0,
                                   1,
                                   -1,
                                   2,
                                   3,
                                   7,
                                   8,
                                   16,
                                   255,
                                   65535,
                                   1 << 20,
                                   (1 << 20) + 1,
                                   INT32_MAX,
                                   INT32_MIN,
                                   (int64_t(1) << 32) + 65,
                                   int64_t(1) << 40,
                                   INT64_MAX,
                                   INT64_MIN};
  return r.coin() ? values[r.below(std::size(values))] : int64_t(r.below(64)) - 8;
}
nlohmann::json edge_json(Rng& r) {
  switch (r.below(10)) {
    case 0:
      return 1.5;
    case 1:
      return 2.0;
    case 2:
      return true;
    case 3:
      return "3";
    case 4:
      return nullptr;
    case 5:
      return std::numeric_limits<uint64_t>::max();
    case 6:
      return nlohmann::json::array({1, 2});
    default:
      return edge_int(r);
  }
}

struct Outcome {
  int64_t cases = 0, errors = 0, loads = 0;
  std::size_t largest_ratio_case = 0;
  void print(const char* what) const {
    std::cout << "fuzz " << what << ": " << cases << " cases, " << errors << " clean sinklab::Error, " << loads
              << " correct loads\n";
  }
};

// Runs one case: `load` must throw sinklab::Error or return normally (its own checks of a correct load throw
// std::logic_error, which fails the test like any other foreign exception). The largest single allocation made
// while it runs must stay within twice the input's size plus 64 KiB.
template <class F>
void run_case(Outcome& out, const std::string& id, std::size_t input_bytes, F&& load) {
  ++out.cases;
  g_largest = 0;
  g_tracking = true;
  bool error = false;
  std::string foreign;
  try {
    load();
  } catch (const Error&) {
    error = true;
  } catch (const std::exception& e) {
    foreign = std::string(typeid(e).name()) + ": " + e.what();
  } catch (...) {
    foreign = "a non-std exception";
  }
  g_tracking = false;
  if (!foreign.empty()) FAIL(id << " threw " << foreign);
  const std::size_t allowed = 2 * input_bytes + (64 << 10);
  if (g_largest > allowed)
    FAIL(id << ": allocated " << g_largest << " bytes at once for a " << input_bytes << "-byte input");
  error ? ++out.errors : ++out.loads;
}

void expect(bool ok, const std::string& what) {
  if (!ok) throw std::logic_error("incorrect load: " + what);
}

// Overwrites in place and then cuts to size: on ext4, truncating a file to zero and rewriting it (O_TRUNC) flushes
// it on close, which made thousands of cases take seconds of I/O.
void write(const std::filesystem::path& p, const Bytes& b) {
  const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  const bool ok = ::pwrite(fd, b.data(), b.size(), 0) == static_cast<ssize_t>(b.size()) &&
                  ::ftruncate(fd, static_cast<off_t>(b.size())) == 0;
  ::close(fd);
  REQUIRE(ok);
}

// --- safetensors ----------------------------------------------------------------------------------------------
Bytes base_safetensors() {
  io::SafeTensors st;
  st.metadata["format"] = "pt";
  const float a[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  const int32_t c[1] = {7};
  st.tensors["a"] = io::make_float_entry(a, {3, 4});
  st.tensors["b"] = io::make_float_entry(std::span<const float>(a, 2), {2}, "BF16");
  st.tensors["c"] = io::make_entry<int32_t>(c, {1, 1}, "I32");
  st.tensors["e"] = io::make_entry<float>(std::span<const float>(), {0, 4}, "F32");
  return io::serialize_safetensors(st);
}

// Rewrites the JSON header: one field of one entry replaced, removed or added, or a tensor renamed or added.
Bytes mutate_header_json(const Bytes& file, Rng& r) {
  uint64_t n;
  std::memcpy(&n, file.data(), 8);
  auto h = nlohmann::json::parse(reinterpret_cast<const char*>(file.data()) + 8,
                                 reinterpret_cast<const char*>(file.data()) + 8 + n);
  std::vector<std::string> names;
  for (const auto& [k, _] : h.items()) names.push_back(k);
  auto& e = h[names[r.below(names.size())]];
  switch (r.below(8)) {
    case 0:
      e["shape"][r.below(std::max<std::size_t>(1, e["shape"].size()))] = edge_json(r);
      break;
    case 1:
      e["data_offsets"][r.below(2)] = r.coin() ? edge_json(r) : nlohmann::json(r.below(80));
      break;
    case 2: {
      static const char* dtypes[] = {"F32", "F64", "F16", "BF16", "I32", "I64", "U8", "BOOL", "F8_E4M3", "Q4", ""};
      e["dtype"] = r.coin() ? nlohmann::json(dtypes[r.below(std::size(dtypes))]) : edge_json(r);
      break;
    }
    case 3:
      e.erase(r.coin() ? "shape" : r.coin() ? "dtype" : "data_offsets");
      break;
    case 4:
      e["extra"] = 1;
      break;
    case 5:
      e["shape"] = nlohmann::json::array({edge_int(r), edge_int(r)});
      break;
    case 6:
      h["z"] = {{"dtype", "F32"}, {"shape", {r.below(4)}}, {"data_offsets", {r.below(80), r.below(80)}}};
      break;
    default:
      e = edge_json(r);
      break;
  }
  std::string text = h.dump();
  if (r.coin()) text.append(r.below(16), ' ');
  Bytes out(8 + text.size());
  const uint64_t len = text.size();
  std::memcpy(out.data(), &len, 8);
  std::memcpy(out.data() + 8, text.data(), text.size());
  out.insert(out.end(), file.begin() + 8 + static_cast<std::ptrdiff_t>(n), file.end());
  return out;
}

Bytes mutate_bytes(Bytes b, Rng& r, std::size_t header_end) {
  header_end = std::min(header_end, b.size());
  if (header_end <= 8) return b;
  switch (r.below(6)) {
    case 0:  // bytes anywhere in the length and header
      for (uint64_t k = 1 + r.below(4); k > 0 && !b.empty(); --k)
        b[r.below(std::min(b.size(), header_end))] = std::byte(r.next());
      break;
    case 1: {  // the header length
      uint64_t n;
      std::memcpy(&n, b.data(), 8);
      const uint64_t choices[] = {n + 1,        n - 1,   n + 8, 0, b.size(), b.size() - 8, uint64_t(INT64_MAX),
                                  ~uint64_t(0), r.next()};
      n = choices[r.below(std::size(choices))];
      std::memcpy(b.data(), &n, 8);
      break;
    }
    case 2:
      b.resize(r.below(b.size()));
      break;  // truncate
    case 3:
      for (uint64_t k = 1 + r.below(64); k > 0; --k) b.push_back(std::byte(r.next()));
      break;  // extend
    case 4:
      b[r.below(b.size())] ^= std::byte(1u << r.below(8));
      break;  // one bit
    default:
      b[8 + r.below(header_end - 8)] = std::byte("{}[]\",:0123456789-.e\\"[r.below(21)]);
      break;
  }
  return b;
}

// A correct load: every tensor's bytes are shape x dtype, and writing it back gives the same tensors.
void check_loaded(const io::SafeTensors& st) {
  for (const auto& [name, e] : st.tensors) {
    expect(e.data.size() == static_cast<std::size_t>(e.numel()) * io::dtype_size(e.dtype), "size of " + name);
    if (io::is_float_dtype(e.dtype))
      expect(io::get_float(st, name).size() == e.data.size() / io::dtype_size(e.dtype), name);
  }
  const auto again = io::parse_safetensors(io::serialize_safetensors(st), "again");
  expect(again.tensors.size() == st.tensors.size() && again.metadata == st.metadata, "round trip");
  for (const auto& [name, e] : st.tensors)
    expect(again.at(name).data == e.data && again.at(name).shape == e.shape && again.at(name).dtype == e.dtype, name);
}
}  // namespace

TEST_CASE("fuzz: safetensors headers, lengths and sizes", "[fuzz][io]") {
  test::TempDir dir("fuzz_st");
  const Bytes base = base_safetensors();
  uint64_t header;
  std::memcpy(&header, base.data(), 8);
  Outcome out;
  Rng r{20240601};
  for (int i = 0; i < 3000; ++i) {
    Bytes b = r.below(3) == 0 ? mutate_header_json(base, r) : mutate_bytes(base, r, 8 + header);
    if (r.below(4) == 0) b = mutate_bytes(b, r, 8 + header);
    const std::string id = "safetensors case " + std::to_string(i);
    bool full_ok = false;
    run_case(out, id, b.size(), [&] {
      const auto st = io::parse_safetensors(b, id);
      full_ok = true;
      check_loaded(st);
    });
    if (i % 10 == 0) {  // the header-only reader agrees with the full one, reading the same bytes from a file
      write(dir / "m.safetensors", b);
      Outcome side;
      run_case(side, id + " (header only)", b.size(), [&] {
        bool header_ok = false;
        try {
          io::read_safetensors_header(dir / "m.safetensors");
          header_ok = true;
        } catch (const Error&) {
        }
        expect(header_ok == full_ok, "read_safetensors_header and parse_safetensors disagree");
      });
    }
  }
  out.print("safetensors");
  CHECK(out.cases == 3000);
  CHECK(out.loads > 0);
  CHECK(out.errors > out.loads);
}

TEST_CASE("fuzz: a model's config against its weights file", "[fuzz][nn]") {
  const nn::ModelConfig c = test::tiny_config();
  const Bytes weights = io::serialize_safetensors(test::core_weights(c));
  uint64_t header;
  std::memcpy(&header, weights.data(), 8);
  Outcome out;
  Rng r{7};
  static const char* keys[] = {"vocab_size",     "d_model",     "n_layers",    "n_heads",    "n_kv_heads", "head_dim",
                               "d_ff",           "max_seq_len", "window_size", "prefix_len", "seed",       "norm_eps",
                               "tie_embeddings", "pos",         "ffn",         "norm",       "bias",       "placement"};
  for (int i = 0; i < 1000; ++i) {
    nlohmann::json j = nn::to_json(c);
    for (uint64_t k = 1 + r.below(2); k > 0; --k) {
      const char* key = keys[r.below(std::size(keys))];
      j[key] = r.coin() ? edge_json(r) : nlohmann::json(r.below(40));
    }
    if (r.below(5) == 0) j["pos"] = r.coin() ? "learned" : "sinusoidal";
    if (r.below(5) == 0) j["tie_embeddings"] = true;
    const Bytes b = r.below(3) == 0 ? mutate_header_json(weights, r) : weights;
    const std::string id = "model case " + std::to_string(i) + " " + j.dump();
    run_case(out, id, b.size(), [&] {
      const nn::ModelConfig mc = nn::model_config_from_json(j, "config.json: sinklab.");
      uint64_t n;
      std::memcpy(&n, b.data(), 8);
      const auto h = io::parse_safetensors_header(std::string_view(reinterpret_cast<const char*>(b.data()) + 8, n),
                                                  b.size() - 8 - n, "w.safetensors");
      io::check_model_file(mc, h, "w.safetensors", "config.json");
      // Passed: the model's core parameters are exactly tensors of the file, so building it is justified.
      double core = 0;
      io::for_each_core_tensor(mc, [&](const std::string& name, const Shape& shape) {
        expect(h.tensors.at(name).shape == shape, name);
        core += double(sinklab::numel(shape));
      });
      expect(core * 2 <= double(b.size()), "core tensors larger than the file");
    });
  }
  out.print("model config vs weights");
  CHECK(out.loads > 0);
  CHECK(out.errors > 0);
}

TEST_CASE("fuzz: llama2.c headers and sizes", "[fuzz][nn]") {
  test::TempDir dir("fuzz_l2c");
  const auto path = dir / "m.bin";
  Outcome out;
  Rng r{1337};
  const test::Llama2cHeader valid;
  for (int i = 0; i < 2000; ++i) {
    test::Llama2cHeader h = valid;
    Bytes b;
    const uint64_t kind = r.below(6);
    if (kind == 0) {  // another valid configuration, written consistently: must load
      h.n_heads = int32_t(1 + r.below(3));
      h.dim = h.n_heads * int32_t(2 + 2 * r.below(3));
      h.n_kv_heads = h.n_heads % 2 == 0 && r.coin() ? h.n_heads / 2 : h.n_heads;
      h.hidden_dim = int32_t(1 + r.below(24)), h.n_layers = int32_t(1 + r.below(3));
      h.vocab_size = int32_t(1 + r.below(20)) * (r.coin() ? 1 : -1), h.seq_len = int32_t(1 + r.below(9));
      b = test::llama2c_bytes(h);
    } else {
      b = test::llama2c_bytes(valid);
      if (kind <= 2) {  // one header int, wrapped to 32 bits as a writer would
        const auto v = static_cast<int32_t>(edge_int(r));
        std::memcpy(b.data() + 4 * r.below(7), &v, 4);
      }
      if (kind == 3) b[r.below(28)] = std::byte(r.next());        // one header byte
      if (kind == 4) b.resize(r.below(b.size()));                 // truncate
      if (kind == 5) b.resize(b.size() + 4 * (1 + r.below(64)));  // extend
      if (r.below(4) == 0) b.resize(r.coin() ? b.size() + 4 : b.size() - std::min<std::size_t>(4, b.size()));
    }
    write(path, b);
    const std::string id = "llama2.c case " + std::to_string(i);
    run_case(out, id, b.size(), [&] {
      const auto m = probe::load_llama2c(path.string());
      int32_t f[7];
      std::memcpy(f, b.data(), 28);
      expect(m.config.d_model == f[0] && m.config.d_ff == f[1] && m.config.n_layers == f[2] &&
                 m.config.n_heads == f[3] && m.config.n_kv_heads == f[4] && m.config.max_seq_len == f[6] &&
                 m.config.vocab_size == std::abs(int64_t(f[5])) && m.config.tie_embeddings == (f[5] > 0),
             "config differs from the header");
      std::size_t floats = 0, core = 0;
      io::for_each_core_tensor(m.config, [&](const std::string& name, const Shape& shape) {
        expect(m.state.count(name) && m.state.at(name).shape() == shape, name);
        floats += static_cast<std::size_t>(sinklab::numel(shape));
        ++core;
      });
      expect(core == m.state.size(), "extra tensors");
      expect(28 + 4 * floats <= b.size(), "more weights than the file holds");
    });
  }
  out.print("llama2.c");
  CHECK(out.loads > 200);
  CHECK(out.errors > 0);
}

TEST_CASE("fuzz: llm.c and LITPKDS token files", "[fuzz][data]") {
  test::TempDir dir("fuzz_tok");
  const std::vector<int32_t> tokens = {5, 0, 65535, 17, 3, 3, 9, 1000, 2, 8};
  data::write_llmc_tokens(dir / "llmc.bin", tokens);
  data::write_litpkds_u16(dir / "lit.bin", tokens);
  const Bytes llmc = io::read_file(dir / "llmc.bin"), lit = io::read_file(dir / "lit.bin");
  Outcome out;
  Rng r{99};
  for (int i = 0; i < 1000; ++i) {
    const bool is_llmc = r.coin();
    Bytes b = is_llmc ? llmc : lit;
    const std::size_t header = is_llmc ? 12 : 24;  // the fields that matter
    switch (r.below(5)) {
      case 0: {  // one header int: llm.c's magic/version/count or LITPKDS's version/chunk size
        const int64_t v = edge_int(r);
        const std::size_t at = is_llmc ? 4 * r.below(3) : (r.coin() ? 7 : 16);
        std::memcpy(b.data() + at, &v, is_llmc ? 4 : 8);
        break;
      }
      case 1:
        b[r.below(header)] = std::byte(r.next());
        break;
      case 2:
        b.resize(r.below(b.size()));
        break;
      case 3:
        b.resize(b.size() + 1 + r.below(9));
        break;
      default:
        if (!is_llmc)
          b[15] = std::byte(r.below(10));
        else
          b[4] = std::byte(r.below(10));
        break;  // dtype / version
    }
    write(dir / "t.bin", b);
    run_case(out, "token file case " + std::to_string(i), b.size(), [&] {
      const auto tf = data::read_token_file(dir / "t.bin");
      expect(tf.tokens.size() * std::size_t(tf.bytes_per_token) <= b.size(), "more tokens than bytes");
      for (const int32_t t : tf.tokens) expect(t >= 0, "negative token id");
    });
  }
  out.print("token files");
  CHECK(out.loads > 0);
  CHECK(out.errors > 0);
}
