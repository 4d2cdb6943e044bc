#!/usr/bin/env bash
# train.device = "cuda" as a user runs it, on the CUDA emulator (src/cuda/emu/) or a GPU: a tiny model trained on
# the CPU and on the device from the same config must log the same losses (to 1e-4 relative; they differ only in
# the order of fp32 additions), write checkpoints in the same format, resume exactly, be probed by sinklab-probe,
# and a CUDA checkpoint must resume on the CPU. The CPU-only binary refuses "cuda" by naming the one that has it.
#   cuda_end_to_end.sh PRETRAIN(cpu) PRETRAIN(cuda) PROBE WORKDIR
set -u
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../support/cli_checks.sh"
cpu=$1 gpu=$2 probe=$3 work=$4
rm -rf "$work" && mkdir -p "$work"

corpus=$work/corpus.txt
write_corpus "$corpus" 200
# head_dim 32: a head size the CUDA attention kernels tile
cat >"$work/tiny.json" <<JSON
{"run_dir": "$work/cpu",
 "model": {"vocab_size": 258, "d_model": 64, "n_layers": 2, "n_heads": 2, "d_ff": 128, "max_seq_len": 32,
           "attention": "softmax_sink"},
 "data": {"format": "text", "tokenizer": "byte", "train": ["$corpus"], "val_fraction": 0.1},
 "train": {"steps": 12, "batch_size": 4, "seq_len": 16, "grad_accum": 2},
 "optim": {"lr": 3e-3, "warmup": 2},
 "log": {"every": 1, "eval_every": 6, "eval_batches": 2, "checkpoint_every": 6, "probe_every": 6, "probe_samples": 4,
         "probe_seq_len": 16}}
JSON

expect_error "the CPU-only binary names the one that trains on a GPU" "sinklab-pretrain-cuda" \
  "$cpu" --config "$work/tiny.json" --set train.device=cuda --set run_dir="$work/refused"
expect_error "a device the build does not know is named" "train.device" \
  "$gpu" --config "$work/tiny.json" --set train.device=tpu --set run_dir="$work/refused"

"$cpu" --config "$work/tiny.json" >"$work/cpu.log" 2>&1
check "the CPU run finishes" test -f "$work/cpu/final/model.safetensors"
"$gpu" --config "$work/tiny.json" --set train.device=cuda --set run_dir="$work/cuda" >"$work/cuda.log" 2>&1
check "the CUDA run finishes" test -f "$work/cuda/final/model.safetensors"
check "the CUDA run says where it trains" grep -q "device cuda" "$work/cuda.log"

compare=$work/compare.py
cat >"$compare" <<'PY'
import json, sys
def rows(path):
    return [json.loads(l) for l in open(path) if '"loss"' in l or '"val_loss"' in l or '"sink' in l]
a, b = rows(sys.argv[1]), rows(sys.argv[2])
tol, exact = float(sys.argv[3]), sys.argv[4] == "exact"
assert len(a) == len(b) and a, (len(a), len(b))
worst = 0.0
for x, y in zip(a, b):
    assert x["step"] == y["step"], (x["step"], y["step"])
    for k in ("loss", "val_loss", "grad_norm"):
        if k in x:
            d = abs(x[k] - y[k]) / max(abs(x[k]), 1e-12)
            worst = max(worst, d)
            assert (x[k] == y[k]) if exact else d <= tol, (x["step"], k, x[k], y[k])
    assert ("sink" in x) == ("sink" in y), x["step"]
    if "sink" in x and not exact:  # the probes ran on the mirror of the device's weights
        for u, v in zip(x["sink"] + [x["alpha1"], x["probe_loss"]], y["sink"] + [y["alpha1"], y["probe_loss"]]):
            assert abs(u - v) <= tol * max(abs(u), 1.0), (x["step"], "probe", u, v)
print("worst relative difference", worst)
PY
check "CPU and CUDA log the same losses, gradient norms and probes (1e-4)" \
  /usr/bin/python3 "$compare" "$work/cpu/metrics.jsonl" "$work/cuda/metrics.jsonl" 1e-4 close

formats=$work/formats.py
cat >"$formats" <<'PY'
import json, struct, sys
def header(p):
    d = open(p, 'rb').read(); n = struct.unpack('<Q', d[:8])[0]; h = json.loads(d[8:8 + n])
    meta = h.pop('__metadata__', {})
    return {k: (v['dtype'], v['shape']) for k, v in h.items()}, sorted(meta)
for f in sys.argv[3:]:
    assert header(sys.argv[1] + '/' + f) == header(sys.argv[2] + '/' + f), f
PY
check "a CUDA checkpoint has the CPU's format (tensors, dtypes, shapes, metadata keys)" \
  /usr/bin/python3 "$formats" "$work/cpu/checkpoints/step_6" "$work/cuda/checkpoints/step_6" \
  model.safetensors trainer_state.safetensors
check "and the same config.json" cmp "$work/cpu/final/config.json" "$work/cuda/final/config.json"

# Resume on the device: stop at step 6 (its checkpoint), continue to 12: the same losses as the run that never stopped.
"$gpu" --config "$work/tiny.json" --set train.device=cuda --set run_dir="$work/cuda_resumed" --set train.steps=6 \
  >"$work/cuda_first.log" 2>&1
"$gpu" --resume "$work/cuda_resumed" --set train.steps=12 >"$work/cuda_second.log" 2>&1
check "a CUDA run resumes exactly" /usr/bin/python3 "$compare" "$work/cuda/metrics.jsonl" \
  "$work/cuda_resumed/metrics.jsonl" 0 exact

# Across devices: the CUDA run's checkpoint at step 6, continued on the CPU.
cp -r "$work/cuda_resumed" "$work/crossed"
rm -rf "$work/crossed/checkpoints/step_12" "$work/crossed/final"
echo step_6 >"$work/crossed/checkpoints/latest"
"$cpu" --resume "$work/crossed" --set train.device=cpu --set train.steps=12 >"$work/crossed.log" 2>&1
check "a CUDA checkpoint resumes on the CPU" test -f "$work/crossed/final/model.safetensors"
check "and continues the CPU run's curve (1e-4)" /usr/bin/python3 "$compare" "$work/cpu/metrics.jsonl" \
  "$work/crossed/metrics.jsonl" 1e-4 close

# A NaN/Inf step: both devices skip up to train.skip_nonfinite such steps, then stop (exit 3) naming the same cause.
for dev in cpu cuda; do
  bin=$cpu; [ $dev = cuda ] && bin=$gpu
  "$bin" --config "$work/tiny.json" --set train.device=$dev --set run_dir="$work/nan_$dev" --set optim.lr=1e30 \
    --set train.skip_nonfinite=2 >"$work/nan_$dev.log" 2>&1
  echo $? >"$work/nan_$dev.rc"
done
check "a non-finite step stops both devices with exit 3" bash -c "[ \$(cat '$work/nan_cpu.rc') = 3 ] && [ \$(cat '$work/nan_cuda.rc') = 3 ]"
check "... with the same report" bash -c "diff <(grep -E 'warning|error' '$work/nan_cpu.log' | sed 's#$work/nan_cpu##g') \
  <(grep -E 'warning|error' '$work/nan_cuda.log' | sed 's#$work/nan_cuda##g')"

"$probe" sink --model "$work/cuda/final" --data "$corpus" --seq-len 16 --samples 4 --out "$work/probe" \
  >"$work/probe.log" 2>&1
check "sinklab-probe reads the CUDA run's model" test -s "$work/probe/sink.json"

cli_summary
