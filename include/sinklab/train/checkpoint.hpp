#pragma once
// Checkpoints: a directory holding model.safetensors (Hugging Face LLaMA names, F32), config.json (LlamaConfig +
// our "sinklab" block) and trainer_state.safetensors (AdamW moments as "exp_avg.<name>"/"exp_avg_sq.<name>",
// with step, sampler state and the run config in the metadata). A checkpoint is written into a temporary sibling
// directory and renamed into place, so a reader sees either the old complete one or the new complete one. Also
// here: which checkpoint a resume starts from (the newest intact one, see resume_from_newest_intact).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sinklab/io/atomic_file.hpp"
#include "sinklab/io/model_shapes.hpp"
#include "sinklab/io/safetensors.hpp"
#include "sinklab/nn/llama.hpp"
#include "sinklab/nn/state.hpp"
#include "sinklab/optim/adamw.hpp"

namespace sinklab::train {

namespace fs = std::filesystem;

template <class T>
io::TensorEntry to_entry(const Tensor<T>& t) {
  const Tensor<float> f = t.template cast<float>();
  return io::make_float_entry(std::span<const float>(f.data(), f.numel()), t.shape(), "F32");
}

template <class T>
Tensor<T> from_entry(const io::TensorEntry& e, std::string_view name = "") {
  const std::vector<float> v = io::to_float(e, name);
  Tensor<T> t(e.shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = static_cast<T>(v[i]);
  return t;
}

template <class T>
io::SafeTensors model_tensors(const nn::ParamList<T>& params) {
  io::SafeTensors st;
  st.metadata["format"] = "pt";
  for (const auto& p : params) st.tensors[p.name] = to_entry(p.var.value());
  return st;
}

// Reads model.safetensors into the parameters (strict: every name, every shape).
template <class T>
void load_model_tensors(nn::ParamList<T>& params, const fs::path& file) {
  const io::SafeTensors st = io::read_safetensors(file);
  nn::StateDict<T> state;
  for (const auto& [name, e] : st.tensors) state[name] = from_entry<T>(e, name);
  nn::load_state_dict(params, state, file.string());
}

struct TrainerState {
  int64_t step = 0;
  nlohmann::json sampler;  // BatchSampler::state_json()
  nlohmann::json config;   // the resolved run config
  int64_t skipped = 0;     // non-finite steps skipped so far (train.skip_nonfinite's budget spans resumes)
};

namespace detail {
// "<dir>.<kind>.<pid>.<n>": unique per process and call, so no two writers ever share a temporary, and one that a
// killed process left is recognisable by its pid (run_dir.hpp's clean_up_after_dead_writers).
inline fs::path sibling_temp(const fs::path& dir, const char* kind) {
  static std::atomic<unsigned> counter{0};
  return dir.parent_path() /
         (dir.filename().string() + "." + kind + "." + std::to_string(::getpid()) + "." + std::to_string(counter++));
}
}  // namespace detail

// AdamW's state as a checkpoint stores it: one whole tensor per parameter and moment. From an optim::AdamW, or
// gathered from the shards of dist::ShardedAdamW (ZeRO-1) at rank 0: the same file either way.
template <class T>
struct AdamWMoments {
  const nn::ParamList<T>& params;
  const std::vector<Tensor<T>>& exp_avg;
  const std::vector<Tensor<T>>& exp_avg_sq;
  int64_t step;
};

namespace detail {
// Writes the checkpoint into a fresh temporary directory and renames it to `dir`; `opt` null: the model alone.
template <class T>
void write_checkpoint_dir(const fs::path& dir, const nn::LlamaModel<T>& model, const AdamWMoments<T>* opt,
                          const TrainerState& state, const std::map<std::string, std::string>& extra_files) {
  const fs::path tmp = sibling_temp(dir, "tmp");
  fs::create_directories(tmp);
  try {
    const auto params = model.parameters();
    io::write_safetensors(tmp / "model.safetensors", model_tensors(params));
    io::write_file_atomic(tmp / "config.json", nn::hf_config_json(model.config()).dump(2) + "\n");
    for (const auto& [name, text] : extra_files) io::write_file_atomic(tmp / name, text);
    if (opt) {
      io::SafeTensors st;
      st.metadata["step"] = std::to_string(state.step);
      st.metadata["sampler"] = state.sampler.dump();
      st.metadata["config"] = state.config.dump();
      st.metadata["optimizer_step"] = std::to_string(opt->step);
      st.metadata["skipped_steps"] = std::to_string(state.skipped);
      for (std::size_t i = 0; i < opt->params.size(); ++i) {
        st.tensors["exp_avg." + opt->params[i].name] = to_entry(opt->exp_avg[i]);
        st.tensors["exp_avg_sq." + opt->params[i].name] = to_entry(opt->exp_avg_sq[i]);
      }
      io::write_safetensors(tmp / "trainer_state.safetensors", st);  // last: its presence marks a complete checkpoint
    }
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(tmp, ignored);
    throw;
  }
  // Swap in: the old directory (if any) is moved aside first, so `dir` is never half-written.
  const fs::path old = sibling_temp(dir, "old");
  if (fs::exists(dir)) fs::rename(dir, old);
  fs::rename(tmp, dir);
  fs::remove_all(old);
}
}  // namespace detail

// Writes the checkpoint, plus `extra_files` (name -> text), into a fresh temporary directory and renames it to `dir`.
template <class T>
void save_checkpoint(const fs::path& dir, const nn::LlamaModel<T>& model, const optim::AdamW<T>* opt,
                     const TrainerState& state, const std::map<std::string, std::string>& extra_files = {}) {
  if (!opt) return detail::write_checkpoint_dir<T>(dir, model, nullptr, state, extra_files);
  auto& o = const_cast<optim::AdamW<T>&>(*opt);
  const AdamWMoments<T> moments{o.params(), o.exp_avg(), o.exp_avg_sq(), o.step_count()};
  detail::write_checkpoint_dir(dir, model, &moments, state, extra_files);
}

// The same from moments held elsewhere (a data-parallel run's rank 0 after gathering the ZeRO-1 shards).
template <class T>
void save_checkpoint(const fs::path& dir, const nn::LlamaModel<T>& model, const AdamWMoments<T>& moments,
                     const TrainerState& state, const std::map<std::string, std::string>& extra_files = {}) {
  detail::write_checkpoint_dir(dir, model, &moments, state, extra_files);
}

namespace detail {
inline int64_t metadata_int(const io::SafeTensors& st, const fs::path& file, const char* key,
                            std::optional<int64_t> fallback = std::nullopt) {
  auto it = st.metadata.find(key);
  if (it == st.metadata.end() && fallback) return *fallback;
  SINKLAB_CHECK(it != st.metadata.end(), file.string(), ": metadata key '", key, "' missing");
  std::size_t used = 0;
  int64_t v = -1;
  try {
    v = std::stoll(it->second, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  SINKLAB_CHECK(used == it->second.size() && v >= 0, file.string(), ": metadata '", key, "' is '", it->second,
                "', not a step count");
  return v;
}

inline nlohmann::json metadata_json(const io::SafeTensors& st, const fs::path& file, const char* key) {
  auto it = st.metadata.find(key);
  SINKLAB_CHECK(it != st.metadata.end(), file.string(), ": metadata key '", key, "' missing");
  auto j = nlohmann::json::parse(it->second, nullptr, /*allow_exceptions=*/false);
  SINKLAB_CHECK(!j.is_discarded(), file.string(), ": metadata '", key, "' is not valid JSON");
  return j;
}

// The moment `prefix + name` of parameter i, checked against the parameter's shape.
template <class T>
const io::TensorEntry& moment(const io::SafeTensors& st, const fs::path& file, const nn::ParamList<T>& ps,
                              const char* prefix, std::size_t i) {
  const std::string name = prefix + ps[i].name;
  auto it = st.tensors.find(name);
  SINKLAB_CHECK(it != st.tensors.end(), file.string(), ": tensor '", name, "' missing");
  SINKLAB_CHECK(it->second.shape == ps[i].var.shape(), file.string(), ": '", name, "' has shape ",
                to_string(it->second.shape), ", expected ", to_string(ps[i].var.shape()));
  return it->second;
}

// Reads the metadata of trainer_state.safetensors (parsed into `st`) and checks that every AdamW moment is there
// with its parameter's shape; writes nothing.
template <class T>
TrainerState check_trainer_state(const io::SafeTensors& st, const fs::path& file, const nn::ParamList<T>& ps) {
  TrainerState s;
  s.step = metadata_int(st, file, "step");
  s.sampler = metadata_json(st, file, "sampler");
  s.config = metadata_json(st, file, "config");
  s.skipped = metadata_int(st, file, "skipped_steps", 0);  // absent in checkpoints of earlier versions
  metadata_int(st, file, "optimizer_step");
  for (std::size_t i = 0; i < ps.size(); ++i) {
    moment(st, file, ps, "exp_avg.", i);
    moment(st, file, ps, "exp_avg_sq.", i);
  }
  return s;
}

// Copies the moments and the optimiser's step count into `opt`; after check_trainer_state.
template <class T>
void copy_trainer_state(const io::SafeTensors& st, const fs::path& file, optim::AdamW<T>& opt) {
  const auto& ps = opt.params();
  for (std::size_t i = 0; i < ps.size(); ++i) {
    opt.exp_avg()[i].copy_(from_entry<T>(moment(st, file, ps, "exp_avg.", i)));
    opt.exp_avg_sq()[i].copy_(from_entry<T>(moment(st, file, ps, "exp_avg_sq.", i)));
  }
  opt.set_step_count(metadata_int(st, file, "optimizer_step"));
}
}  // namespace detail

template <class T>
TrainerState load_trainer_state(const fs::path& dir, optim::AdamW<T>& opt) {
  const fs::path file = dir / "trainer_state.safetensors";
  const io::SafeTensors st = io::read_safetensors(file);
  TrainerState s = detail::check_trainer_state(st, file, opt.params());
  detail::copy_trainer_state(st, file, opt);
  return s;
}

// The step_N directories under `checkpoints`, oldest first (temporaries such as step_N.tmp.* are not listed).
inline std::vector<std::pair<int64_t, fs::path>> step_checkpoints(const fs::path& checkpoints) {
  std::vector<std::pair<int64_t, fs::path>> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(checkpoints, ec)) {
    const std::string n = e.path().filename().string();
    if (!e.is_directory() || n.size() <= 5 || n.rfind("step_", 0) != 0 || n.size() > 5 + 18 ||
        n.find_first_not_of("0123456789", 5) != std::string::npos)
      continue;
    found.emplace_back(std::stoll(n.substr(5)), e.path());
  }
  std::sort(found.begin(), found.end());
  return found;
}

struct ResumePoint {
  fs::path dir;  // empty: the directory holds no checkpoint and no `latest` (none was completed)
  TrainerState state;
  std::vector<std::string> refused;  // "step_20 (named by checkpoints/latest): <why>", newest first
};

// Loads the newest intact checkpoint into `params` and `opt`: the one checkpoints/latest names, else (saying why in
// `refused`) the other step_N directories, newest first. Intact: both safetensors files parse and hold every
// parameter and both AdamW moments with the model's names and shapes. A refused checkpoint changes nothing in
// `params` or `opt`. Throws, listing every checkpoint and why it was refused, when there are some but none is
// intact.
template <class T>
ResumePoint resume_from_newest_intact(const fs::path& checkpoints, nn::ParamList<T>& params, optim::AdamW<T>& opt) {
  ResumePoint r;
  std::vector<std::pair<std::string, fs::path>> candidates;  // (label, dir)
  const fs::path latest = checkpoints / "latest";
  std::string named;
  if (fs::exists(latest)) {
    named = io::read_text_file(latest);
    while (!named.empty() && (named.back() == '\n' || named.back() == '\r')) named.pop_back();
    const std::string label = "'" + named + "' (named by " + latest.string() + ")";
    if (named.empty() || named.find('/') != std::string::npos || !fs::is_directory(checkpoints / named))
      r.refused.push_back(label + ": no such checkpoint directory");
    else
      candidates.emplace_back(label, checkpoints / named);
  }
  const auto steps = step_checkpoints(checkpoints);
  for (auto it = steps.rbegin(); it != steps.rend(); ++it)
    if (it->second.filename() != named) candidates.emplace_back(it->second.filename().string(), it->second);
  if (candidates.empty() && r.refused.empty()) return r;
  for (const auto& [label, dir] : candidates) {
    try {
      const fs::path model_file = dir / "model.safetensors", state_file = dir / "trainer_state.safetensors";
      SINKLAB_CHECK(fs::exists(state_file), state_file.string(), " is missing (an incomplete checkpoint)");
      const io::SafeTensors model_st = io::read_safetensors(model_file), state_st = io::read_safetensors(state_file);
      nn::StateDict<T> weights;
      for (const auto& [name, e] : model_st.tensors) weights[name] = from_entry<T>(e, name);
      // Every check before anything is copied, so that a refusal leaves `params` and `opt` untouched.
      r.state = detail::check_trainer_state(state_st, state_file, opt.params());
      nn::load_state_dict(params, weights, model_file.string());  // checks every name and shape, then copies
      detail::copy_trainer_state(state_st, state_file, opt);
      r.dir = dir;
      return r;
    } catch (const std::exception& e) {
      r.refused.push_back(label + ": " + e.what());
    }
  }
  std::string why;
  for (const auto& s : r.refused) why += "\n  " + s;
  SINKLAB_FAIL(checkpoints.string(), ": no intact checkpoint to resume from:", why);
}

// Builds a model from a checkpoint directory written by save_checkpoint (config.json's "sinklab" block).
template <class T>
nn::LlamaModel<T> load_model(const fs::path& dir) {
  // The config is read strictly and checked against the weights' header before the model is allocated.
  nn::LlamaModel<T> model(io::read_checkpoint_config(dir));
  auto params = model.parameters();
  load_model_tensors(params, dir / "model.safetensors");
  return model;
}

}  // namespace sinklab::train
