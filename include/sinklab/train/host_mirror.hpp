#pragma once
// HostMirror<D>: what a device run (TrainerT<Cuda>) sends through the host, in one place.
//
// Note [trainer on a device]: TrainerT<Cuda> trains the model on a GPU (train.device = "cuda"; the binary
// sinklab-pretrain-cuda, or sinklab-pretrain-emulated in tests). Model, gradients and AdamW live on the device;
// what leaves it goes through one host mirror, a CPU LlamaModel with the same parameters: checkpoints (the same
// files, written by the same code, as a CPU run's, so either device resumes the other's), resume (read into the
// mirror, then copied over) and the probes (which run the CPU model's forward traces). One process only so far:
// data-parallel GPU ranks need NCCL (issue 15).
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sinklab/nn/llama.hpp"
#include "sinklab/optim/adamw.hpp"
#include "sinklab/train/checkpoint.hpp"

namespace sinklab::train {

template <class D>
class HostMirror {
 public:
  using T = float;

  // The CPU model holding `params`' current values (built on first use).
  const nn::LlamaModel<T>& model(const nn::ModelConfig& cfg, const nn::ParamList<T, D>& params) {
    nn::ParamList<T> hp = mirror_params(cfg, params);
    for (std::size_t i = 0; i < hp.size(); ++i)
      hp[i].var.mutable_value().copy_(autograd::TensorOps<D>::to_host(params[i].var.value()));
    return *host_;
  }

  // A checkpoint of the device's model and AdamW state: the CPU's writer, on host copies.
  void save(const std::filesystem::path& dir, const nn::ModelConfig& cfg, const nn::ParamList<T, D>& params,
            optim::AdamW<T, D>& opt, const TrainerState& state, const std::map<std::string, std::string>& extra) {
    const auto& host = model(cfg, params);
    const nn::ParamList<T> hp = host.parameters();
    std::vector<Tensor<T>> m, v;
    for (std::size_t i = 0; i < params.size(); ++i) {
      m.push_back(autograd::TensorOps<D>::to_host(opt.exp_avg()[i]));
      v.push_back(autograd::TensorOps<D>::to_host(opt.exp_avg_sq()[i]));
    }
    save_checkpoint<T>(dir, host, AdamWMoments<T>{hp, m, v, opt.step_count()}, state, extra);
  }

  // The newest intact checkpoint, read into the mirror (checked there, as a CPU run checks it) and copied onto the
  // device; `params` and `opt` are unchanged when none is intact.
  ResumePoint resume(const std::filesystem::path& checkpoints, const nn::ModelConfig& cfg, nn::ParamList<T, D>& params,
                     optim::AdamW<T, D>& opt) {
    nn::ParamList<T> hp = mirror_params(cfg, params);
    optim::AdamW<T> host_opt(hp, optim::AdamWConfig{});
    ResumePoint r = resume_from_newest_intact(checkpoints, hp, host_opt);
    if (r.dir.empty()) return r;
    for (std::size_t i = 0; i < params.size(); ++i) {
      autograd::TensorOps<D>::copy_from_host(params[i].var.mutable_value(), hp[i].var.value());
      autograd::TensorOps<D>::copy_from_host(opt.exp_avg()[i], host_opt.exp_avg()[i]);
      autograd::TensorOps<D>::copy_from_host(opt.exp_avg_sq()[i], host_opt.exp_avg_sq()[i]);
    }
    opt.set_step_count(host_opt.step_count());
    return r;
  }

 private:
  // The mirror's parameters, built on first use; they must be the device model's, name for name.
  nn::ParamList<T> mirror_params(const nn::ModelConfig& cfg, const nn::ParamList<T, D>& params) {
    if (!host_) host_ = std::make_unique<nn::LlamaModel<T>>(cfg);
    nn::ParamList<T> hp = host_->parameters();
    SINKLAB_CHECK(hp.size() == params.size(), "host mirror: ", hp.size(), " parameters for a device model of ",
                  params.size());
    for (std::size_t i = 0; i < hp.size(); ++i)
      SINKLAB_CHECK(hp[i].name == params[i].name && hp[i].var.shape() == params[i].var.shape(),
                    "host mirror: parameter ", i, " is '", hp[i].name, "' ", to_string(hp[i].var.shape()),
                    " but the device model's is '", params[i].name, "' ", to_string(params[i].var.shape()));
    return hp;
  }

  std::unique_ptr<nn::LlamaModel<T>> host_;
};

}  // namespace sinklab::train
