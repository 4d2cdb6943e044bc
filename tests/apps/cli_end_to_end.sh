#!/usr/bin/env bash
# The apps as a user runs them: pretrain a tiny model, interrupt it with SIGINT, resume it, probe it (sink, norms,
# plot) and check every file the README promises; then the errors a user meets on bad input.
#   cli_end_to_end.sh PRETRAIN PROBE WORKDIR
set -u
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../support/cli_checks.sh"
pretrain=$1 probe=$2 work=$3
rm -rf "$work" && mkdir -p "$work"

corpus=$work/corpus.txt
write_corpus "$corpus" 400
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

# --- Strict inputs (issue 13): every bad size, integer, tensor name or file is an error that names it; nothing is
# allocated before the sizes are checked against the weights file, and nothing is silently rounded or ignored. ---
strict=$work/strict
mkdir -p "$strict"
ck=$work/run/final
# edited_model NAME KIND EDIT: a copy of the final checkpoint whose config.json gets the Python statement EDIT on j;
# KIND hf drops the "sinklab" block first (a Hugging Face directory).
edited_model() {
  mkdir -p "$strict/$1" && cp "$ck/model.safetensors" "$strict/$1/"
  /usr/bin/python3 -c "
import json; j = json.load(open('$ck/config.json'))
if '$2' == 'hf': j.pop('sinklab')
$3
json.dump(j, open('$strict/$1/config.json', 'w'))"
}
edited_model float_layers ours "j['sinklab']['n_layers'] = 1e9"
expect_error "checkpoint: a float n_layers names config.json and the key" "sinklab.n_layers: expected an integer" \
  "$probe" sink --model "$strict/float_layers" --synthetic random --seq-len 8 --samples 2
edited_model many_layers ours "j['sinklab']['n_layers'] = 4000"
expect_error "checkpoint: n_layers beyond the weights is refused before allocating" "holds 2 layers" \
  "$probe" sink --model "$strict/many_layers" --synthetic random --seq-len 8 --samples 2
edited_model unknown_key ours "j['sinklab']['n_layer'] = 2"
expect_error "checkpoint: an unknown key in the sinklab block is named" "did you mean 'n_layers'" \
  "$probe" sink --model "$strict/unknown_key" --synthetic random --seq-len 8 --samples 2
edited_model bool_heads ours "j['sinklab']['n_heads'] = True"
expect_error "checkpoint: a boolean n_heads is not 1" "sinklab.n_heads: expected an integer, got boolean" \
  "$probe" sink --model "$strict/bool_heads" --synthetic random --seq-len 8 --samples 2
edited_model hf_zero_heads hf "j['num_attention_heads'] = 0"
expect_error "HF: num_attention_heads 0 is an error, not SIGFPE" "num_attention_heads: 0 is out of range" \
  "$probe" sink --model "$strict/hf_zero_heads" --synthetic random --seq-len 8 --samples 2
edited_model hf_many_layers hf "j['num_hidden_layers'] = 4000"
expect_error "HF: num_hidden_layers beyond the weights is refused before allocating" "holds 2 layers" \
  "$probe" sink --model "$strict/hf_many_layers" --synthetic random --seq-len 8 --samples 2
edited_model hf_rope_scaling hf "j['rope_scaling'] = {'type': 'linear', 'factor': 2.0}"
expect_error "HF: rope_scaling is refused rather than ignored" "rope_scaling is not supported" \
  "$probe" sink --model "$strict/hf_rope_scaling" --synthetic random --seq-len 8 --samples 2
edited_model trailing ours "pass"
printf 'xx' >>"$strict/trailing/model.safetensors"
expect_error "safetensors: bytes after the last tensor are refused" "2 trailing bytes belong to no tensor" \
  "$probe" sink --model "$strict/trailing" --synthetic random --seq-len 8 --samples 2

# Token ids must be integers in [0, vocab_size): no 1.9 -> 1, true -> 1 or 2^32 + 65 -> 65.
for bad in "1.9:expected an integer, got number 1.9" "true:expected an integer, got boolean" \
           "4294967361:4294967361 is out of range [0, 257]" "258:258 is out of range [0, 257]"; do
  echo "[[1, 2, 3, ${bad%%:*}, 5, 6, 7, 8, 9]]" >"$strict/ids.json"
  expect_error "probe --data ids.json: token ${bad%%:*} is refused" "ids.json: sequence 0, token 3: ${bad#*:}" \
    "$probe" sink --model "$ck" --data "$strict/ids.json" --seq-len 8 --samples 1 --out "$strict/p"
done
for opt in "--seq-len 1.9" "--seq-len 99999999999999999999" "--samples 0" "--seed -1" "--eps 1.5" "--eps 0" \
           "--eps nan"; do
  # shellcheck disable=SC2086
  expect_error "probe sink $opt is refused, naming the option" "${opt%% *}" \
    "$probe" sink --model "$ck" --synthetic random $opt --out "$strict/p"
done

# A llama2.c model knows its longest sequence (seq_len 8 here); a truncated one is refused before reading.
/usr/bin/python3 -c "
import struct
dim, hidden, layers, heads, kv, vocab, seq = 8, 16, 1, 2, 2, 32, 8
hd = dim // heads
n = vocab*dim + 2*layers*dim + 2*layers*dim*dim + 2*layers*kv*hd*dim + 3*layers*hidden*dim + dim + seq*hd
body = struct.pack('<7i', dim, hidden, layers, heads, kv, vocab, seq) + struct.pack('<%df' % n, *[0.01] * n)
open('$strict/tiny.bin', 'wb').write(body)
open('$strict/short.bin', 'wb').write(body[:-4])"
check "llama2.c: a tiny file written here probes" "$probe" sink --model "$strict/tiny.bin" --synthetic random \
  --seq-len 8 --samples 2 --out "$strict/p"
expect_error "llama2.c: --seq-len beyond its seq_len is refused" "--seq-len: 16 is out of range [2, 8]" \
  "$probe" sink --model "$strict/tiny.bin" --synthetic random --seq-len 16 --samples 2 --out "$strict/p"
expect_error "llama2.c: a truncated file is refused" "does not match the header" \
  "$probe" sink --model "$strict/short.bin" --synthetic random --samples 2 --out "$strict/p"

# probe attention: unknown tensor names, --output onto --input, and options that the mask would ignore.
/usr/bin/python3 -c "
import json, struct
def save(path, tensors):
    off, hdr, data = 0, {}, b''
    for name, shape in tensors:
        n = 1
        for d in shape: n *= d
        hdr[name] = {'dtype': 'F32', 'shape': shape, 'data_offsets': [off, off + 4 * n]}
        data += struct.pack('<%df' % n, *[0.1 * (i % 7) for i in range(n)]); off += 4 * n
    h = json.dumps(hdr).encode(); h += b' ' * ((8 - len(h) % 8) % 8)
    open(path, 'wb').write(struct.pack('<Q', len(h)) + h + data)
qkv = [('q', [1, 2, 4, 8]), ('k', [1, 2, 4, 8]), ('v', [1, 2, 4, 8])]
save('$strict/qkv.safetensors', qkv)
save('$strict/typo.safetensors', qkv + [('dOut', [1, 2, 4, 8])])
save('$strict/temp.safetensors', qkv + [('dout', [1, 2, 4, 8]), ('log_temperature', [2])])
save('$strict/temp_typo.safetensors', qkv + [('log_temperatur', [2])])"
check "probe attention: q, k, v written here run" "$probe" attention --variant softmax \
  --input "$strict/qkv.safetensors" --output "$strict/o.safetensors"
expect_error "probe attention: a misspelt dout is named, not ignored" "unknown tensor 'dOut'; did you mean 'dout'?" \
  "$probe" attention --variant softmax --input "$strict/typo.safetensors" --output "$strict/o.safetensors"
# A variant's own tensors come from its policies' lists (Note [parameter lists]): the temperature policy's is read,
# its gradient written, and a misspelling, a missing one or one another variant does not take is named.
check "probe attention: softmax_temperature reads log_temperature and writes its gradient" bash -c \
  "'$probe' attention --variant softmax_temperature --input '$strict/temp.safetensors' --output '$strict/t.safetensors' \
   && grep -q dlog_temperature '$strict/t.safetensors'"
expect_error "probe attention: a misspelt policy tensor is named" "did you mean 'log_temperature'?" \
  "$probe" attention --variant softmax_temperature --input "$strict/temp_typo.safetensors" --output "$strict/t.safetensors"
expect_error "probe attention: a missing policy tensor is named with its shape" "needs tensor 'log_temperature'" \
  "$probe" attention --variant softmax_temperature --input "$strict/qkv.safetensors" --output "$strict/t.safetensors"
expect_error "probe attention: a tensor the variant does not take is refused" "'log_temperature' is not used by variant 'softmax'" \
  "$probe" attention --variant softmax --input "$strict/temp.safetensors" --output "$strict/t.safetensors"
mkdir -p "$strict/sub"
expect_error "probe attention: --output onto --input (another spelling) is refused" "is the --input file" \
  "$probe" attention --variant softmax --input "$strict/qkv.safetensors" --output "$strict/sub/../qkv.safetensors"
expect_error "probe attention: a missing --output is named" "--output is required" \
  "$probe" attention --variant softmax --input "$strict/qkv.safetensors"
expect_error "probe attention: --window beyond int is refused" "--window: 4294967297 is out of range" \
  "$probe" attention --variant softmax --input "$strict/qkv.safetensors" --output "$strict/o.safetensors" \
  --window 4294967297
expect_error "probe attention: --window with a causal mask is refused" "--window is used by --mask sliding only" \
  "$probe" attention --variant softmax --input "$strict/qkv.safetensors" --output "$strict/o.safetensors" \
  --mask causal --window 4

# probe plot: a metrics record with a non-number is named, not a raw JSON type error.
mkdir -p "$strict/run_bad"
printf '{"step": 1, "loss": 2.5}\n{"step": 2, "loss": "high"}\n' >"$strict/run_bad/metrics.jsonl"
expect_error "probe plot: a non-number loss names the file, record and key" "record 2: 'loss' is string \"high\"" \
  "$probe" plot "$strict/run_bad"

# A directory, FIFO or device where a file is expected: an error naming it, never a hang or std::bad_alloc.
mkfifo "$strict/fifo.txt" "$strict/fifo.bin" "$strict/fifo.safetensors"
expect_error "probe --data a directory is named" "a directory, not a regular file" \
  "$probe" sink --model "$ck" --data "$strict" --seq-len 8 --samples 1 --out "$strict/p"
expect_error "probe --data a FIFO is named, without waiting for a writer" "a FIFO, not a regular file" \
  timeout 20 "$probe" sink --model "$ck" --data "$strict/fifo.txt" --seq-len 8 --samples 1 --out "$strict/p"
expect_error "probe --data /dev/zero is named" "a character device" \
  timeout 20 "$probe" sink --model "$ck" --data /dev/zero --seq-len 8 --samples 1 --out "$strict/p"
expect_error "probe --model a FIFO named .bin is refused" "expected a checkpoint directory" \
  timeout 20 "$probe" sink --model "$strict/fifo.bin" --synthetic random
expect_error "probe attention --input a FIFO is named" "a FIFO, not a regular file" \
  timeout 20 "$probe" attention --variant softmax --input "$strict/fifo.safetensors" --output "$strict/o.safetensors"

# Bigram-Backcopy: a generated-task run, probed afterwards on the task's own held-out sequences (--task): the
# probe app and pretrain's last probe record must give the same numbers.
echo '{}' >"$work/empty.json"
"$pretrain" --config "$work/empty.json" --set run_dir="$work/bbc" --set data.format=bigram_backcopy \
  --set data.backcopy.vocab=16 --set data.backcopy.support=4 --set data.backcopy.val_sequences=8 \
  --set model.vocab_size=17 --set model.d_model=32 --set model.n_layers=1 --set model.n_heads=2 --set model.max_seq_len=32 \
  --set train.steps=6 --set train.batch_size=4 --set train.seq_len=32 --set log.probe_every=3 --set log.probe_samples=8 \
  --set log.probe_seq_len=32 --set log.eval_every=0 >"$work/bbc.log" 2>&1
check "pretrain trains on the generated Bigram-Backcopy task" test -f "$work/bbc/final/model.safetensors"
"$probe" sink --model "$work/bbc/final" --task "$work/bbc/config.json" --seq-len 32 --samples 8 --out "$work/bbc_probe" \
  >"$work/bbc_probe.log" 2>&1
check "probe sink --task reproduces pretrain's last probe record" /usr/bin/python3 -c "
import json; p = json.load(open('$work/bbc_probe/sink.json'))
m = [json.loads(l) for l in open('$work/bbc/metrics.jsonl') if 'bos_attn' in l][-1]
for k in ('sink1', 'alpha1', 'alpha1_raw', 'bos_attn', 'bos_attn_raw', 'backcopy_loss', 'bigram_loss', 'bigram_oracle'):
    assert abs(p[k] - m[k]) <= 1e-12 * max(1, abs(m[k])), (k, p[k], m[k])"
expect_error "probe --task refuses a run that is not Bigram-Backcopy" "bigram_backcopy" \
  "$probe" sink --model "$work/run/final" --task "$work/run/config.json"

# A checkpoint whose weights hold a NaN is refused by the probe, naming the tensor (not "mean loss nan").
mkdir -p "$work/nanmodel" && cp "$work/run/final/config.json" "$work/run/final/model.safetensors" "$work/nanmodel/"
/usr/bin/python3 -c "
import json, struct
f = open('$work/nanmodel/model.safetensors', 'r+b'); n = struct.unpack('<Q', f.read(8))[0]
h = json.loads(f.read(n)); name = sorted(k for k in h if k != '__metadata__')[0]
f.seek(8 + n + h[name]['data_offsets'][0]); f.write(struct.pack('<f', float('nan')))"
expect_error "probe refuses non-finite weights, naming the tensor" "non-finite weights" \
  "$probe" sink --model "$work/nanmodel" --synthetic random --seq-len 8 --samples 1 --out "$work/nanprobe"

cli_summary
