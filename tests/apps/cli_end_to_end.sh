#!/usr/bin/env bash
# The apps as a user runs them: pretrain a tiny model, interrupt it with SIGINT, resume it, probe it (sink, norms,
# plot) and check every file the README promises; then the errors a user meets on bad input.
#   cli_end_to_end.sh PRETRAIN PROBE WORKDIR
set -u
pretrain=$1 probe=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
passed=0 failed=0
ok() { echo "ok    $*"; passed=$((passed + 1)); }
bad() { echo "FAIL  $*"; failed=$((failed + 1)); }
check() { local what=$1; shift; if "$@" >/dev/null 2>&1; then ok "$what"; else bad "$what"; fi; }
# expect_error WHAT NEEDLE CMD...: the command fails and its stderr names NEEDLE
expect_error() {
  local what=$1 needle=$2; shift 2
  local err; err=$("$@" 2>&1 >/dev/null); local rc=$?
  if [ $rc -ne 0 ] && grep -qF -- "$needle" <<<"$err"; then ok "$what"; else bad "$what (rc $rc: $err)"; fi
}

# A small English corpus written here, so the test needs nothing outside the build.
corpus=$work/corpus.txt
for i in $(seq 1 400); do
  echo "the quick brown fox $i jumps over the lazy dog and the cat sat on the mat while it rained."
done >"$corpus"
cat >"$work/tiny.json" <<JSON
{"run_dir": "$work/run",
 "model": {"vocab_size": 258, "d_model": 32, "n_layers": 2, "n_heads": 2, "d_ff": 64, "max_seq_len": 32},
 "data": {"format": "text", "tokenizer": "byte", "train": ["$corpus"], "val_fraction": 0.1},
 "train": {"steps": 30, "batch_size": 4, "seq_len": 32},
 "optim": {"lr": 3e-3, "warmup": 5},
 "log": {"every": 5, "eval_every": 10, "eval_batches": 2, "checkpoint_every": 10, "probe_every": 10, "probe_samples": 4}}
JSON

check "pretrain --help documents keys" bash -c "'$pretrain' --help | grep -q 'optim.weight_decay'"
expect_error "unknown config key names the key and the nearest one" "weight_decay" \
  "$pretrain" --config "$work/tiny.json" --set optim.weight_decy=0.1
expect_error "bad value type names the key" "optim.lr" "$pretrain" --config "$work/tiny.json" --set optim.lr='"fast"'

# Interrupt a longer run with SIGINT: it must save a checkpoint and exit 130, then --resume finishes it.
"$pretrain" --config "$work/tiny.json" --set train.steps=100000 >"$work/interrupted.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do  # wait (at most 60 s) until training has started
  grep -q '"step"' "$work/run/metrics.jsonl" 2>/dev/null && break
  sleep 0.1
done
kill -INT $pid
wait $pid
rc=$?
if [ $rc -eq 130 ] && ls "$work"/run/checkpoints/step_* >/dev/null 2>&1; then ok "SIGINT saves a checkpoint, exit 130"
else bad "SIGINT saves a checkpoint, exit 130 (rc $rc)"; cat "$work/interrupted.log"; fi
expect_error "a second --config into a run with checkpoints is refused" "--resume" \
  "$pretrain" --config "$work/tiny.json"

"$pretrain" --config "$work/tiny.json" --overwrite >"$work/train.log" 2>&1
check "pretrain runs to the end" test -f "$work/run/final/model.safetensors"
check "final config.json is a Hugging Face LlamaConfig" grep -q '"model_type": *"llama"' "$work/run/final/config.json"
check "metrics.jsonl has validation loss and Sink_1" bash -c "grep -q val_loss '$work/run/metrics.jsonl' && grep -q sink '$work/run/metrics.jsonl'"
"$pretrain" --resume "$work/run" --set train.steps=40 >"$work/resume.log" 2>&1
check "resume extends a finished run" bash -c "grep -q '\"step\": *40' '$work/run/metrics.jsonl' || grep -q '\"step\":40' '$work/run/metrics.jsonl'"

out=$work/probe
"$probe" sink --model "$work/run/final" --data "$corpus" --seq-len 16 --samples 8 --out "$out" >"$work/sink.log" 2>&1
check "probe sink exits 0" test $? -eq 0
for f in sink.json sink_alpha1.svg sink_alpha1.csv sink_vs_eps.svg sink_vs_eps.csv; do
  check "probe sink writes $f" test -s "$out/$f"
done
check "sink.json holds Sink_k for k = 1..10" /usr/bin/python3 -c "
import json, sys; j = json.load(open('$out/sink.json'))
assert len(j['sink']) == 10 and all(0 <= x <= 100 for x in j['sink']), j['sink']
assert len(j['alpha']) == 2 and 'mean_loss' in j"
# Raw token ids, for models without a tokenizer: a JSON list of lists, and an llm.c .bin token file (header of 256
# int32: magic 20240520, version 1, token count; then uint16 tokens). Both hold the same 8 sequences of 17 tokens.
/usr/bin/python3 -c "
import json, struct
seqs = [[(7 * i + 3 * j) % 250 + 5 for j in range(17)] for i in range(8)]
json.dump(seqs, open('$work/ids.json', 'w'))
flat = [t for s in seqs for t in s]
hdr = [20240520, 1, len(flat)] + [0] * 253
open('$work/ids.bin', 'wb').write(struct.pack('<256i', *hdr) + struct.pack('<%dH' % len(flat), *flat))"
"$probe" sink --model "$work/run/final" --data "$work/ids.json" --seq-len 16 --samples 8 --out "$work/probe_json" >/dev/null 2>&1
"$probe" sink --model "$work/run/final" --data "$work/ids.bin" --seq-len 16 --samples 8 --out "$work/probe_bin" >/dev/null 2>&1
check "token ids as JSON and as an llm.c .bin give the same probe" /usr/bin/python3 -c "
import json; a = json.load(open('$work/probe_json/sink.json')); b = json.load(open('$work/probe_bin/sink.json'))
assert a['samples'] == 8 and a['alpha'] == b['alpha'] and a['mean_loss'] == b['mean_loss']"
"$probe" norms --model "$work/run/final" --synthetic random --seq-len 16 --samples 4 --out "$out" >"$work/norms.log" 2>&1
check "probe norms exits 0" test $? -eq 0
for f in norms.json norms_hidden.svg norms_hidden.csv norms_keys.svg norms_values.svg; do
  check "probe norms writes $f" test -s "$out/$f"
done
"$probe" plot "$work/run" >"$work/plot.log" 2>&1
check "probe plot draws loss.svg and sink.svg" bash -c "test -s '$work/run/loss.svg' && test -s '$work/run/sink.svg'"

# The same checkpoint read as a Hugging Face LLaMA directory (config.json without our "sinklab" block): the HF loader
# must rebuild the same model, so the two probes agree to the last digit.
mkdir -p "$work/hf"
cp "$work/run/final/model.safetensors" "$work/hf/"
/usr/bin/python3 -c "
import json; j = json.load(open('$work/run/final/config.json')); j.pop('sinklab')
json.dump(j, open('$work/hf/config.json', 'w'))"
"$probe" sink --model "$work/hf" --synthetic random --seq-len 16 --samples 4 --out "$work/probe_hf" >/dev/null 2>&1
"$probe" sink --model "$work/run/final" --synthetic random --seq-len 16 --samples 4 --out "$work/probe_ours" >/dev/null 2>&1
check "a Hugging Face directory of our checkpoint probes identically" /usr/bin/python3 -c "
import json; a = json.load(open('$work/probe_hf/sink.json')); b = json.load(open('$work/probe_ours/sink.json'))
assert a['model_kind'] == 'huggingface' and b['model_kind'] == 'sinklab', (a['model_kind'], b['model_kind'])
assert a['alpha'] == b['alpha'] and a['mean_loss'] == b['mean_loss']"

expect_error "probe: missing model names the path" "$work/nope" "$probe" sink --model "$work/nope" --synthetic random
expect_error "probe: a non-integer option names it" "--seq-len" \
  "$probe" sink --model "$work/run/final" --synthetic random --seq-len abc
expect_error "probe: unknown option names it" "--sample" "$probe" sink --model "$work/run/final" --sample 3
printf 'garbage' >"$work/broken.safetensors"
expect_error "probe attention: a broken input file is named" "broken.safetensors" \
  "$probe" attention --variant softmax --input "$work/broken.safetensors" --output "$work/o.safetensors"
check "--list-variants prints every paper name" bash -c "'$probe' --list-variants | grep -q gated_softmax_post_out_gate_L2norm_nodivS_noclamp"

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
