#pragma once
// Checkpoints: a directory holding model.safetensors (Hugging Face LLaMA names, F32), config.json (LlamaConfig +
// our "sinklab" block) and trainer_state.safetensors (AdamW moments as "exp_avg.<name>"/"exp_avg_sq.<name>",
// with step, sampler state and the run config in the metadata). A checkpoint is written into a temporary sibling
// directory and renamed into place, so a reader sees either the old complete one or the new complete one.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "sinklab/io/atomic_file.hpp"
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
Tensor<T> from_entry(const io::TensorEntry& e) {
  const std::vector<float> v = io::to_float(e);
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
  for (const auto& [name, e] : st.tensors) state[name] = from_entry<T>(e);
  nn::load_state_dict(params, state, file.string());
}

struct TrainerState {
  int64_t step = 0;
  nlohmann::json sampler;  // BatchSampler::state_json()
  nlohmann::json config;   // the resolved run config
};

template <class T>
void save_checkpoint(const fs::path& dir, const nn::LlamaModel<T>& model, const optim::AdamW<T>* opt,
                     const TrainerState& state) {
  const fs::path tmp = dir.parent_path() / (dir.filename().string() + ".tmp");
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  const auto params = model.parameters();
  io::write_safetensors(tmp / "model.safetensors", model_tensors(params));
  io::write_file_atomic(tmp / "config.json", nn::hf_config_json(model.config()).dump(2) + "\n");
  if (opt) {
    io::SafeTensors st;
    st.metadata["step"] = std::to_string(state.step);
    st.metadata["sampler"] = state.sampler.dump();
    st.metadata["config"] = state.config.dump();
    st.metadata["optimizer_step"] = std::to_string(opt->step_count());
    const auto& ps = opt->params();
    auto& m = const_cast<optim::AdamW<T>*>(opt)->exp_avg();
    auto& v = const_cast<optim::AdamW<T>*>(opt)->exp_avg_sq();
    for (std::size_t i = 0; i < ps.size(); ++i) {
      st.tensors["exp_avg." + ps[i].name] = to_entry(m[i]);
      st.tensors["exp_avg_sq." + ps[i].name] = to_entry(v[i]);
    }
    io::write_safetensors(tmp / "trainer_state.safetensors", st);
  }
  // Swap in: the old directory (if any) is moved aside first, so `dir` is never half-written.
  const fs::path old = dir.parent_path() / (dir.filename().string() + ".old");
  fs::remove_all(old);
  if (fs::exists(dir)) fs::rename(dir, old);
  fs::rename(tmp, dir);
  fs::remove_all(old);
}

template <class T>
TrainerState load_trainer_state(const fs::path& dir, optim::AdamW<T>& opt) {
  const fs::path file = dir / "trainer_state.safetensors";
  const io::SafeTensors st = io::read_safetensors(file);
  auto meta = [&](const char* key) -> const std::string& {
    auto it = st.metadata.find(key);
    SINKLAB_CHECK(it != st.metadata.end(), file.string(), ": metadata key '", key, "' missing");
    return it->second;
  };
  TrainerState s;
  s.step = std::stoll(meta("step"));
  s.sampler = nlohmann::json::parse(meta("sampler"));
  s.config = nlohmann::json::parse(meta("config"));
  opt.set_step_count(std::stoll(meta("optimizer_step")));
  const auto& ps = opt.params();
  for (std::size_t i = 0; i < ps.size(); ++i) {
    for (auto [prefix, dst] : {std::pair{"exp_avg.", &opt.exp_avg()[i]}, std::pair{"exp_avg_sq.", &opt.exp_avg_sq()[i]}}) {
      const auto& e = st.at(prefix + ps[i].name);
      SINKLAB_CHECK(e.shape == ps[i].var.shape(), file.string(), ": '", prefix, ps[i].name, "' has shape ",
                    to_string(e.shape), ", expected ", to_string(ps[i].var.shape()));
      dst->copy_(from_entry<T>(e));
    }
  }
  return s;
}

// Builds a model from a checkpoint directory written by save_checkpoint (config.json's "sinklab" block).
template <class T>
nn::LlamaModel<T> load_model(const fs::path& dir) {
  const fs::path cfg_file = dir / "config.json";
  SINKLAB_CHECK(fs::exists(cfg_file), dir.string(), ": no config.json (not a sinklab checkpoint directory)");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(io::read_text_file(cfg_file));
  } catch (const nlohmann::json::exception& e) {
    SINKLAB_FAIL(cfg_file.string(), ": ", e.what());
  }
  SINKLAB_CHECK(j.contains("sinklab"), cfg_file.string(), ": no \"sinklab\" block (written by another tool?)");
  nn::LlamaModel<T> model(nn::model_config_from_json(j["sinklab"]));
  auto params = model.parameters();
  load_model_tensors(params, dir / "model.safetensors");
  return model;
}

}  // namespace sinklab::train
