// sinklab-probe: attention sinks, activation norms and massive activations of a model; run-curve plots; the
// attention interop command; the variant list. `sinklab-probe --help` shows every subcommand.
#include <algorithm>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "model_source.hpp"
#include "sinklab/attention.hpp"
#include "sinklab/io.hpp"
#include "sinklab/data/bigram_backcopy.hpp"
#include "sinklab/probe/backcopy.hpp"
#include "sinklab/probe/runner.hpp"

namespace fs = std::filesystem;
using namespace sinklab;

static const char* kUsage =
    "usage:\n"
    "  sinklab-probe --list-variants\n"
    "  sinklab-probe sink  --model PATH (--data FILE | --synthetic random|repeated | --task RUN/config.json)\n"
    "                      [--seq-len 64] [--samples 100] [--eps 0.3] [--seed 0] [--out DIR]\n"
    "  sinklab-probe norms --model PATH (--data FILE | --synthetic ...) [--seq-len 64] [--samples 100] [--out DIR]\n"
    "  sinklab-probe plot RUN_DIR\n"
    "  sinklab-probe attention --variant NAME --input IN.safetensors --output OUT.safetensors\n"
    "                      [--window W] [--prefix P] [--mask causal|sliding|prefix|full]\n\n"
    "PATH: a sinklab checkpoint directory, a Hugging Face LLaMA directory (config.json + model.safetensors), or a\n"
    "llama2.c .bin. FILE: .txt/.jsonl (through the model's tokenizer), .json (list of token-id lists) or .bin tokens.\n"
    "--task: the held-out sequences of a Bigram-Backcopy run (its config.json), with the task's measures (attention\n"
    "to BOS from non-trigger queries, backcopy and bigram losses against the table's entropy).\n";

struct Args {
  std::string cmd;
  std::map<std::string, std::string> opt;
  std::vector<std::string> positional;
  std::string get(const std::string& k, const std::string& def = "") const {
    auto it = opt.find(k);
    return it == opt.end() ? def : it->second;
  }
};

static Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    if (s.rfind("--", 0) == 0) {
      const bool flag = s == "--list-variants" || s == "--help" || s == "-h";
      if (flag) {
        a.opt[s] = "1";
      } else {
        SINKLAB_CHECK(i + 1 < argc, "option ", s, " needs a value");
        a.opt[s] = argv[++i];
      }
    } else if (a.cmd.empty()) {
      a.cmd = s;
    } else {
      a.positional.push_back(s);
    }
  }
  return a;
}

static void check_known(const Args& a, std::initializer_list<const char*> known) {
  for (const auto& [k, v] : a.opt) {
    bool ok = false;
    for (const char* x : known) ok = ok || k == x;
    SINKLAB_CHECK(ok, "sinklab-probe ", a.cmd, ": unknown option '", k, "' (see --help)");
  }
}

// An integer option in [lo, hi], `def` when absent: the whole argument in decimal (io::int_from_text), so "1.9",
// "12abc" or 2^64 + 3 are errors that name the option, never a truncated or wrapped number.
static int64_t int_option(const Args& a, const std::string& key, int64_t def, int64_t lo, int64_t hi) {
  return a.opt.count(key) ? io::int_from_text(a.get(key), key, lo, hi) : def;
}

// A finite number option, `def` when absent.
static double number_option(const Args& a, const std::string& key, double def) {
  return a.opt.count(key) ? io::number_from_text(a.get(key), key) : def;
}

// What `sink` and `norms` share: the model, the sequences to probe and the output directory.
struct ProbeInput {
  apps::LoadedModel m;
  int64_t seq_len = 0;
  std::vector<std::vector<int32_t>> seqs;
  std::shared_ptr<const data::BigramBackcopy> task;  // --task: the run's Bigram-Backcopy task
  fs::path out;
};

// --task RUN/config.json: the held-out sequences of the run's Bigram-Backcopy task (the ones pretrain validates and
// probes on), so a checkpoint can be probed with the task's own measures.
static std::shared_ptr<const data::BigramBackcopy> task_of(const std::string& config_file) {
  const io::Json cfg = io::load_json(config_file);
  SINKLAB_CHECK(cfg.is_object() && cfg.contains("data") && cfg["data"].value("format", "") == "bigram_backcopy" &&
                    cfg["data"].contains("backcopy"),
                "--task ", config_file, ": not the config.json of a data.format = bigram_backcopy run");
  return std::make_shared<const data::BigramBackcopy>(data::backcopy_spec_from_json(cfg["data"]["backcopy"]));
}
static ProbeInput probe_input(const Args& a) {
  constexpr int64_t kMaxSamples = 1'000'000;
  constexpr int64_t kMaxSeed = std::numeric_limits<int64_t>::max();
  SINKLAB_CHECK(!a.get("--model").empty(), "sinklab-probe ", a.cmd, ": --model PATH is required");
  ProbeInput in;
  in.m = apps::load_model(a.get("--model"));
  const int64_t longest = apps::max_probe_seq_len(in.m.model->config(), in.m.kind);
  in.seq_len = int_option(a, "--seq-len", std::min<int64_t>(64, longest), 2, longest);
  const int64_t N = int_option(a, "--samples", 100, 1, kMaxSamples);
  const auto seed = static_cast<uint64_t>(int_option(a, "--seed", 0, 0, kMaxSeed));
  if (!a.get("--task").empty()) {
    SINKLAB_CHECK(a.get("--data").empty() && a.get("--synthetic").empty(), "--task replaces --data and --synthetic");
    in.task = task_of(a.get("--task"));
    SINKLAB_CHECK(in.task->vocab_size() <= in.m.model->config().vocab_size, "--task ", a.get("--task"), ": the task has ",
                  in.task->vocab_size(), " token ids, more than the model's vocabulary (", in.m.model->config().vocab_size,
                  ")");
    const auto val = in.task->validation_set(N, in.seq_len);
    for (int64_t i = 0; i < N; ++i) in.seqs.emplace_back(val.block(i).begin(), val.block(i).end());
  } else {
    in.seqs = apps::load_sequences(a.get("--data"), a.get("--synthetic"), in.m, in.seq_len, N, seed);
  }
  in.out = a.get("--out", "probe_out");
  std::error_code ec;
  SINKLAB_CHECK(!fs::exists(in.out, ec) || fs::is_directory(in.out, ec), "--out '", in.out.string(),
                "' exists and is not a directory");
  fs::create_directories(in.out, ec);
  SINKLAB_CHECK(!ec, "--out '", in.out.string(), "': cannot create the directory: ", ec.message());
  return in;
}

static std::vector<std::string> numbered(int64_t n, int64_t base = 0) {
  std::vector<std::string> v;
  for (int64_t i = 0; i < n; ++i) v.push_back(std::to_string(i + base));
  return v;
}

static int cmd_sink(const Args& a) {
  check_known(a, {"--model", "--data", "--synthetic", "--task", "--seq-len", "--samples", "--eps", "--seed", "--out"});
  const double eps = number_option(a, "--eps", 0.3);
  SINKLAB_CHECK(eps > 0 && eps < 1, "--eps: ", eps, " is outside (0, 1); Sink_k^eps counts heads with alpha_k > eps");
  const ProbeInput in = probe_input(a);
  const auto& m = in.m;
  const int64_t T = in.seq_len;
  const fs::path& out = in.out;
  probe::ProbeOptions<float> opt;
  opt.norms = opt.massive = false;
  opt.raw = true;
  std::optional<probe::BackcopyProbe> task_probe;
  if (in.task) {
    task_probe.emplace(in.task, in.seqs, m.model->config().n_layers, m.model->config().n_heads);
    opt.on_batch = task_probe->hook<float>();
  }
  const auto r = probe::run_probe(*m.model, in.seqs, opt);
  nlohmann::json j;
  j["model"] = a.get("--model");
  j["model_kind"] = m.kind;
  j["attention"] = m.model->config().attention;
  j["data"] = !in.task ? a.get("--synthetic").empty() ? a.get("--data") : "synthetic:" + a.get("--synthetic")
                       : "task:" + a.get("--task");
  j["seq_len"] = T;
  j["samples"] = r.samples;
  j["eps"] = eps;
  j["sink"] = r.sink.sink_rate(eps, 10);  // Sink_k^eps in %, k = 1..10
  j["sink1"] = r.sink.sink_rate(eps, 1)[0];
  j["mean_loss"] = r.mean_loss;
  j["alpha1"] = r.sink.mean_alpha_k(1);         // probe map (DESIGN §4)
  j["alpha1_raw"] = r.sink_raw.mean_alpha_k(1);  // the raw coefficients κ/ρ on token 1
  if (r.sink.has_slot()) j["slot_alpha"] = r.sink.mean_slot_alpha(), j["slot_sink"] = r.sink.slot_sink_rate(eps);
  if (task_probe) j.update(task_probe->metrics());
  const auto alpha = r.sink.mean_alpha();  // (L, H, T)
  nlohmann::json aj = nlohmann::json::array();
  for (int64_t l = 0; l < r.layers; ++l) {
    nlohmann::json lj = nlohmann::json::array();
    for (int64_t h = 0; h < r.heads; ++h) {
      std::vector<double> row(alpha.data() + (l * r.heads + h) * T, alpha.data() + (l * r.heads + h + 1) * T);
      lj.push_back(row);
    }
    aj.push_back(lj);
  }
  j["alpha"] = aj;
  io::Series curve{"Sink_1", {}, {}};
  for (int i = 0; i <= 20; ++i) {
    const double e = 0.05 * i;
    curve.x.push_back(e);
    curve.y.push_back(r.sink.sink_rate(e, 1)[0]);
  }
  j["sink1_vs_eps"] = {{"eps", curve.x}, {"sink1", curve.y}};
  io::write_file_atomic(out / "sink.json", j.dump(2) + "\n");
  std::vector<double> a1(r.layers * r.heads);
  for (int64_t i = 0; i < r.layers * r.heads; ++i) a1[i] = alpha.data()[i * T];
  io::write_heatmap(out / "sink_alpha1.svg", std::span<const double>(a1), r.layers, r.heads,
                    {"mean α₁ (first-token importance) per layer × head", numbered(r.layers), numbered(r.heads), "head",
                     "layer", 0.0, 1.0});
  const io::Series cs[] = {curve};
  io::write_line_plot(out / "sink_vs_eps.svg", cs, {"Sink₁^ε (%) against ε", "ε", "Sink₁ (%)"});
  std::cout << std::fixed << std::setprecision(2) << "model " << a.get("--model") << " (" << m.kind << ", "
            << m.model->config().attention << "), " << r.samples << " sequences of " << T << " tokens\n"
            << "Sink_1^" << eps << " = " << j["sink1"].get<double>() << " %   mean loss " << std::setprecision(4)
            << r.mean_loss << " nats\nSink_k (k=1..10):";
  for (double v : j["sink"]) std::cout << ' ' << std::setprecision(1) << v;
  std::cout << std::setprecision(3) << "\nalpha_1 = " << j["alpha1"].get<double>() << " (raw mass on token 1 "
            << j["alpha1_raw"].get<double>() << ")";
  if (j.contains("slot_alpha"))
    std::cout << "   slot: alpha = " << j["slot_alpha"].get<double>() << ", Sink = " << std::setprecision(2)
              << j["slot_sink"].get<double>() << " %";
  if (task_probe)
    std::cout << std::setprecision(3) << "\nBigram-Backcopy: attention to BOS from non-trigger queries "
              << j["bos_attn"].get<double>() << " (raw " << j["bos_attn_raw"].get<double>() << "), backcopy loss "
              << j["backcopy_loss"].get<double>() << ", bigram loss " << j["bigram_loss"].get<double>() << " (oracle "
              << j["bigram_oracle"].get<double>() << ")";
  std::cout << "\nwrote " << (out / "sink.json").string() << ", sink_alpha1.svg, sink_vs_eps.svg (+ .csv)\n";
  return 0;
}

static int cmd_norms(const Args& a) {
  check_known(a, {"--model", "--data", "--synthetic", "--task", "--seq-len", "--samples", "--seed", "--out"});
  const ProbeInput in = probe_input(a);
  const auto& m = in.m;
  const int64_t T = in.seq_len;
  const fs::path& out = in.out;
  const auto r = probe::run_probe(*m.model, in.seqs, 16, true);
  nlohmann::json j;
  j["model"] = a.get("--model");
  j["seq_len"] = T;
  j["samples"] = r.samples;
  j["hidden_norm"] = r.hidden.mean();  // (L+1, T): embeddings, then each block's output
  j["key_norm"] = r.keys.mean();       // (L, T), averaged over kv heads
  j["value_norm"] = r.values.mean();
  j["first_token_ratio"] = r.hidden.first_token_ratio();
  nlohmann::json mj = nlohmann::json::array();
  for (std::size_t l = 0; l < r.massive.size(); ++l)
    mj.push_back({{"layer", l}, {"top", r.massive[l].top}, {"median", r.massive[l].median}, {"ratio", r.massive[l].ratio},
                  {"massive", r.massive[l].massive}});
  j["massive_activations"] = mj;
  io::write_file_atomic(out / "norms.json", j.dump(2) + "\n");
  auto plot = [&](const char* file, const char* title, const std::vector<std::vector<double>>& rows, int base) {
    std::vector<io::Series> s;
    for (std::size_t l = 0; l < rows.size(); ++l) {
      io::Series x{"layer " + std::to_string(l + base), {}, rows[l]};
      for (std::size_t t = 0; t < rows[l].size(); ++t) x.x.push_back(double(t + 1));
      s.push_back(std::move(x));
    }
    io::write_line_plot(out / file, s, {title, "token position", "mean L2 norm", true});
  };
  plot("norms_hidden.svg", "hidden-state norm per position (layer 0 = embeddings)", r.hidden.mean(), 0);
  plot("norms_keys.svg", "key norm per position", r.keys.mean(), 1);
  plot("norms_values.svg", "value norm per position", r.values.mean(), 1);
  std::cout << "first-token norm ratio per layer:";
  for (double v : r.hidden.first_token_ratio()) std::cout << ' ' << std::setprecision(3) << v;
  std::cout << "\nlargest |h| per layer:";
  for (const auto& s : r.massive) std::cout << ' ' << std::setprecision(4) << s.top[0] << (s.massive ? "*" : "");
  std::cout << "   (* = massive: > 100 and > 1000x median)\nwrote " << (out / "norms.json").string()
            << ", norms_{hidden,keys,values}.svg (+ .csv)\n";
  return 0;
}

static int cmd_plot(const Args& a) {
  check_known(a, {});
  SINKLAB_CHECK(a.positional.size() == 1, "sinklab-probe plot RUN_DIR");
  const fs::path run = a.positional[0];
  const fs::path file = run / "metrics.jsonl";
  const auto recs = io::read_metrics(file);
  io::Series loss{"train loss", {}, {}}, val{"val loss", {}, {}}, sink{"Sink₁ (%)", {}, {}};
  for (std::size_t i = 0; i < recs.size(); ++i) {
    const auto& r = recs[i];
    if (!r.is_object()) continue;  // not a metrics record
    // NaN and infinities are numbers here (read_metrics restores them); anything else is named, not thrown raw.
    auto number = [&](const char* key) {
      SINKLAB_CHECK(r[key].is_number(), file.string(), ": record ", i + 1, ": '", key, "' is ",
                    io::json_type_name(r[key]), " ", io::json_excerpt(r[key]), ", not a number");
      return r[key].get<double>();
    };
    const double step = r.contains("step") ? number("step") : 0.0;
    if (r.contains("loss")) loss.x.push_back(step), loss.y.push_back(number("loss"));
    if (r.contains("val_loss")) val.x.push_back(step), val.y.push_back(number("val_loss"));
    if (r.contains("sink1")) sink.x.push_back(step), sink.y.push_back(number("sink1"));
  }
  SINKLAB_CHECK(!loss.x.empty(), file.string(), ": no loss records");
  const io::Series ls[] = {loss, val};
  io::write_line_plot(run / "loss.svg", ls, {"loss over training", "step", "cross-entropy (nats)"});
  if (!sink.x.empty()) {
    const io::Series ss[] = {sink};
    io::write_line_plot(run / "sink.svg", ss, {"first-token sink over training", "step", "Sink₁ (%)"});
  }
  std::cout << "wrote " << (run / "loss.svg").string() << (sink.x.empty() ? "" : " and sink.svg") << " (+ .csv)\n";
  return 0;
}

// Interop: run one variant on tensors from a safetensors file (see README "Checking your PyTorch code").
static int cmd_attention(const Args& a) {
  check_known(a, {"--variant", "--input", "--output", "--window", "--prefix", "--mask"});
  for (const char* required : {"--variant", "--input", "--output"})
    SINKLAB_CHECK(!a.get(required).empty(), "sinklab-probe attention: ", required, " is required (see --help)");
  const fs::path input = a.get("--input"), output = a.get("--output");
  std::error_code ec, ec_in, ec_out;
  const fs::path input_canonical = fs::weakly_canonical(input, ec_in),
                 output_canonical = fs::weakly_canonical(output, ec_out);
  SINKLAB_CHECK((ec_in || ec_out || input_canonical != output_canonical) && !fs::equivalent(input, output, ec),
                "--output '", output.string(), "' is the --input file; writing it would replace the tensors read");
  SINKLAB_CHECK(!fs::is_directory(output, ec), "--output '", output.string(), "' is a directory; give a file name");
  const fs::path out_dir = output.parent_path().empty() ? fs::path(".") : output.parent_path();
  SINKLAB_CHECK(fs::is_directory(out_dir, ec), "--output '", output.string(), "': directory '", out_dir.string(),
                "' does not exist");
  const auto in = io::read_safetensors(input);
  // Every tensor the command reads; anything else in the file (a misspelt 'dout', say) would be silently ignored.
  std::vector<std::string> known = {"q", "k", "v", "dout"};
  for (const std::string_view key : attention::all_param_keys()) known.emplace_back(key);
  std::string known_list;
  for (const auto& n : known) known_list += (known_list.empty() ? "" : ", ") + n;
  for (const auto& [name, e] : in.tensors)
    SINKLAB_CHECK(std::find(known.begin(), known.end(), name) != known.end(), input.string(), ": unknown tensor '",
                  name, "'", io::did_you_mean(known, name), " (known: ", known_list, ")");
  auto tensor = [&](const std::string& name) -> Tensor<float> {
    if (!in.tensors.count(name)) return {};
    const auto& e = in.tensors.at(name);
    SINKLAB_CHECK(e.dtype == "F32", input.string(), ": tensor '", name, "' is ", e.dtype, "; expected F32");
    return train::from_entry<float>(e);
  };
  const Tensor<float> q = tensor("q"), k = tensor("k"), v = tensor("v");
  SINKLAB_CHECK(q.defined() && k.defined() && v.defined(), input.string(), ": needs tensors q, k and v");
  SINKLAB_CHECK(q.dim() == 4 && k.dim() == 4 && v.shape() == k.shape(), input.string(), ": q ", to_string(q.shape()),
                ", k ", to_string(k.shape()), ", v ", to_string(v.shape()), " must be (B, H, S, D) with k and v alike");
  for (const auto& [name, t] : {std::pair{"q", &q}, std::pair{"k", &k}})
    for (const int64_t d : t->shape())
      SINKLAB_CHECK(d >= 1 && d <= std::numeric_limits<int>::max(), input.string(), ": tensor '", name, "' has shape ",
                    to_string(t->shape()), "; every dimension must be in [1, 2^31 - 1]");
  const int64_t B = q.size(0), H = q.size(1), Hkv = k.size(1), S = q.size(2), D = q.size(3);
  SINKLAB_CHECK(k.size(0) == B && k.size(2) == S && k.size(3) == D, input.string(), ": k ", to_string(k.shape()),
                " does not match q ", to_string(q.shape()), " (expected (", B, ", Hkv, ", S, ", ", D, "))");
  SINKLAB_CHECK(!(a.opt.count("--window") && a.opt.count("--prefix")),
                "--window and --prefix select different masks; give one of them");
  attention::WindowSpec w;
  const std::string mask = a.get("--mask", a.opt.count("--window") ? "sliding" : a.opt.count("--prefix") ? "prefix" : "causal");
  w.mask = mask == "causal" ? attention::MaskKind::causal
           : mask == "sliding" ? attention::MaskKind::sliding
           : mask == "prefix" ? attention::MaskKind::prefix
           : mask == "full" ? attention::MaskKind::full
                            : throw Error("--mask: expected causal, sliding, prefix or full, got '" + mask + "'");
  // A window or prefix that the mask does not use would be silently ignored.
  SINKLAB_CHECK(!a.opt.count("--window") || w.mask == attention::MaskKind::sliding, "--window is used by --mask ",
                "sliding only (the mask is ", mask, ")");
  SINKLAB_CHECK(!a.opt.count("--prefix") || w.mask == attention::MaskKind::prefix, "--prefix is used by --mask ",
                "prefix only (the mask is ", mask, ")");
  constexpr int64_t kMaxInt = std::numeric_limits<int>::max();
  w.window = static_cast<int>(int_option(a, "--window", 0, 1, kMaxInt));
  w.prefix = static_cast<int>(int_option(a, "--prefix", 0, 0, kMaxInt));
  SINKLAB_CHECK(w.mask != attention::MaskKind::sliding || w.window >= 1, "--mask sliding needs --window W >= 1");
  const Tensor<float> k_slot = tensor("k_slot"), v_slot = tensor("v_slot");
  SINKLAB_CHECK(k_slot.defined() || !v_slot.defined(), input.string(),
                ": 'v_slot' needs a 'k_slot' (a value slot without a key slot is never attended to)");
  if (k_slot.defined()) w.slot = v_slot.defined() ? attention::SlotKind::kv : attention::SlotKind::k;
  const auto op = attention::AnyAttention<float>::create(a.get("--variant"), w);
  attention::AttentionParams<float> p;
  p.B = int(B), p.H = int(H), p.Hkv = int(Hkv), p.S = int(S), p.D = int(D);
  p.window = w;
  attention::check_shape(p);
  // The variant's own tensors (its list, Note [parameter lists]): each must be there with its one shape, and a
  // tensor the variant does not take is an error rather than a silent all-zero gradient. The slots are in the list
  // (their presence set the window above), so they are checked here too.
  std::map<std::string, Tensor<float>> extra;
  attention::Inputs<float> inputs{q.data(), k.data(), v.data()};
  for (const attention::ParamSpec& s : op.params()) {
    const std::string name(s.key);
    const Shape shape = s.shape(B, H, S, D);
    extra[name] = tensor(name);
    const Tensor<float>& t = extra[name];
    SINKLAB_CHECK(t.defined(), "variant '", op.name(), "' needs tensor '", name, "' of shape ", to_string(shape),
                  " in ", input.string());
    SINKLAB_CHECK(t.shape() == shape, input.string(), ": tensor '", name, "' has shape ", to_string(t.shape()),
                  "; variant '", op.name(), "' expects ", to_string(shape));
    inputs.set(s, t.data());
  }
  for (const auto& [name, t] : in.tensors)
    SINKLAB_CHECK(name == "q" || name == "k" || name == "v" || name == "dout" || extra.count(name), input.string(),
                  ": tensor '", name, "' is not used by variant '", op.name(), "'; remove it");
  Tensor<float> o(q.shape()), rmax({q.size(0), q.size(1), q.size(2)}), rsum(rmax.shape()), pre(q.shape());
  attention::Outputs<float> outs{o.data(), {rmax.data(), rsum.data(), pre.data()}};
  op.forward(p, inputs, outs);
  io::SafeTensors result;
  result.metadata["variant"] = op.name();
  result.tensors["o"] = train::to_entry(o);
  const Tensor<float> dout = tensor("dout");
  if (dout.defined()) {
    SINKLAB_CHECK(dout.shape() == q.shape(), input.string(), ": tensor 'dout' has shape ", to_string(dout.shape()),
                  "; expected q's ", to_string(q.shape()));
    std::map<std::string, Tensor<float>> g;
    g["dq"] = Tensor<float>(q.shape());
    g["dk"] = Tensor<float>(k.shape());
    g["dv"] = Tensor<float>(v.shape());
    attention::Grads<float> grads{g["dq"].data(), g["dk"].data(), g["dv"].data()};
    for (const attention::ParamSpec& s : op.params()) {
      Tensor<float>& t = g["d" + std::string(s.key)] = Tensor<float>(extra[std::string(s.key)].shape());
      grads.set(s, t.data());
    }
    op.backward(p, inputs, outs.saved, dout.data(), grads);
    for (auto& [n, t] : g) result.tensors[n] = train::to_entry(t);
  }
  io::write_safetensors(output, result);
  std::cout << "wrote " << output.string() << " (" << result.tensors.size() << " tensors, variant " << op.name()
            << ")\n";
  return 0;
}

int main(int argc, char** argv) {
  try {
    const Args a = parse(argc, argv);
    if (a.opt.count("--help") || a.opt.count("-h") || (a.cmd.empty() && a.opt.empty())) {
      std::cout << kUsage;
      return 0;
    }
    if (a.opt.count("--list-variants")) {
      attention::print_variant_table(std::cout);
      return 0;
    }
    if (a.cmd == "sink") return cmd_sink(a);
    if (a.cmd == "norms") return cmd_norms(a);
    if (a.cmd == "plot") return cmd_plot(a);
    if (a.cmd == "attention") return cmd_attention(a);
    SINKLAB_FAIL("unknown subcommand '", a.cmd, "'\n", kUsage);
  } catch (const std::exception& e) {
    std::cerr << "sinklab-probe: error: " << e.what() << "\n";
    return 2;
  }
}
