#!/usr/bin/env bash
# sinklab-pretrain keeps a run directory safe (issue 13): one run per directory (a second one fails at once, naming
# the first's pid), nothing replaced without --overwrite and nothing deleted before the new run is known to be
# valid, a NaN stops the run (exit 3) with the old checkpoints intact, and resume finds the newest intact checkpoint.
#   pretrain_safety.sh PRETRAIN PROBE WORKDIR
set -u
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../support/cli_checks.sh"
pretrain=$1 probe=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
# snapshot DIR: a checksum of every file under DIR but the lock file (which only names the last process to open it)
snapshot() { (cd "$1" && find . -type f ! -name .lock -print0 | sort -z | xargs -0 sha256sum); }

corpus=$work/corpus.txt
write_corpus "$corpus" 400
cfg=$work/tiny.json
cat >"$cfg" <<JSON
{"run_dir": "$work/run",
 "model": {"vocab_size": 258, "d_model": 32, "n_layers": 2, "n_heads": 2, "d_ff": 64, "max_seq_len": 32},
 "data": {"format": "text", "tokenizer": "byte", "train": ["$corpus"], "val_fraction": 0.1},
 "train": {"steps": 10, "batch_size": 4, "seq_len": 32, "threads": 1},
 "optim": {"lr": 3e-3, "warmup": 5},
 "log": {"every": 1, "eval_every": 5, "eval_batches": 2, "checkpoint_every": 5, "keep_checkpoints": 0}}
JSON
run=$work/run

check "--help documents the exit statuses and train.skip_nonfinite" bash -c \
  "'$pretrain' --help | grep -q '3 stopped on a NaN' && '$pretrain' --help | grep -q train.skip_nonfinite"
expect_status "--config with --resume is refused" 2 "exclude each other" "$pretrain" --config "$cfg" --resume "$run"

# --- One run per directory. ---
"$pretrain" --config "$cfg" --set train.steps=100000 >"$work/first.log" 2>&1 &
first=$!
wait_for_step "$run"
expect_status "a second run on the directory fails at once, naming the first's pid" 2 "pid $first" \
  "$pretrain" --config "$cfg" --overwrite
expect_status "... and so does a --resume" 2 "in use by another run (pid $first" "$pretrain" --resume "$run"
kill -TERM $first
wait $first
rc=$?
check "the first run is unharmed: SIGTERM saves its checkpoint (exit 130)" test $rc -eq 130
last=$(sed 's/step_//' "$run/checkpoints/latest")
"$pretrain" --resume "$run" --set train.steps=$((last + 3)) >"$work/first_resume.log" 2>&1
check "the first run resumes and finishes" test $? -eq 0 -a -s "$run/final/model.safetensors"
check "metrics.jsonl has every step once, in order" no_duplicate_steps "$run"

# --- Nothing is replaced without --overwrite, and nothing before the new run is known to be valid. ---
"$pretrain" --config "$cfg" --overwrite >"$work/train.log" 2>&1
check "--overwrite replaces a finished run" test $? -eq 0 -a -s "$run/final/model.safetensors"
check "... and keeps nothing of it once the new run has a checkpoint" bash -c "! ls -a '$run' | grep -q replaced"
before=$(snapshot "$run")
printf '{"base": "tiny.json", "optim": {"weight_decy": 0.1}}' >"$work/typo.json"
expect_status "--overwrite with a typo'd key fails" 2 "weight_decy" "$pretrain" --config "$work/typo.json" --overwrite
check "... leaving every file of the old run as it was" test "$(snapshot "$run")" = "$before"
expect_status "--overwrite with a bad value fails" 2 "optim.beta2 must be in [0, 1), got 1.5" \
  "$pretrain" --config "$cfg" --overwrite --set optim.beta2=1.5
check "... leaving every file of the old run as it was" test "$(snapshot "$run")" = "$before"
expect_status "--overwrite with a missing data file fails" 2 "$work/nope.txt' does not exist" \
  "$pretrain" --config "$cfg" --overwrite --set data.train="$work/nope.txt"
check "... leaving every file of the old run as it was" test "$(snapshot "$run")" = "$before"
expect_status "--overwrite with a vocabulary smaller than the tokenizer's fails" 2 "model.vocab_size 100" \
  "$pretrain" --config "$cfg" --overwrite --set model.vocab_size=100
check "... leaving every file of the old run as it was" test "$(snapshot "$run")" = "$before"

for only in final metrics.jsonl; do
  d=$work/only_$only
  mkdir -p "$d"
  cp -r "$run/$only" "$d/"
  expect_status "a directory holding only $only is refused without --overwrite" 2 "--overwrite" \
    "$pretrain" --config "$cfg" --set run_dir="$d"
  check "... and left as it was" test "$(snapshot "$d")" = "$(cd "$run" && find ./$only -type f -print0 | sort -z | xargs -0 sha256sum)"
done

# --- A NaN stops the run: exit 3, the step named, the checkpoints already written intact and loadable. With
# optim.lr = 1e30, step 11 sends the weights to ~1e30 and step 12's gradients overflow. ---
before=$(snapshot "$run/checkpoints")
expect_status "a NaN stops the run with exit 3, naming the step" 3 "step 12: the gradient norm is NaN" \
  "$pretrain" --resume "$run" --set train.steps=20 --set optim.lr=1e30
check "... the checkpoints already written are unchanged" test "$(snapshot "$run/checkpoints")" = "$before"
check "... and load" "$probe" sink --model "$run/checkpoints/step_10" --synthetic random --seq-len 16 --samples 2 \
  --out "$work/probe_after_nan"
check "... its metrics line is written, marked skipped" grep -q '"grad_norm":"NaN".*"skipped":true,"step":12' \
  "$run/metrics.jsonl"
"$pretrain" --resume "$run" --set train.steps=20 --set train.skip_nonfinite=100 >"$work/skip.log" 2>&1
check "with train.skip_nonfinite the run skips such steps and finishes" test $? -eq 0
check "... logging each skipped step" test "$(grep -c '"skipped":true' "$run/metrics.jsonl")" -ge 2
check "... and counting them" grep -q "non-finite steps skipped" "$work/skip.log"

# --- A kill during the very first checkpoint: a temporary directory, no `latest`. --resume starts again. ---
sleep 0 & dead=$!
wait $dead
"$pretrain" --config "$cfg" --overwrite --set train.steps=5 >/dev/null 2>&1
rm -rf "$run/final" "$run/checkpoints/latest"
mv "$run/checkpoints/step_5" "$run/checkpoints/step_5.tmp.$dead.0"
expect_status "--config still asks for --resume or --overwrite" 2 "--resume" "$pretrain" --config "$cfg"
"$pretrain" --resume "$run" >"$work/restart.log" 2>&1
check "--resume starts it again from step 0" test $? -eq 0 -a -s "$run/final/model.safetensors"
check "... saying so" grep -q "starting it again from step 0" "$work/restart.log"
check "... after removing the dead process's temporary" bash -c "! ls '$run/checkpoints' | grep -q tmp"
check "... with every step once" no_duplicate_steps "$run"

# --- checkpoints/latest names a damaged checkpoint: resume falls back to the newest intact one and says so. ---
"$pretrain" --config "$cfg" --overwrite >/dev/null 2>&1
truncate -s 64 "$run/checkpoints/step_10/model.safetensors"
"$pretrain" --resume "$run" --set train.steps=12 >"$work/fallback.log" 2>&1
check "resume past a damaged latest checkpoint succeeds" test $? -eq 0
check "... naming the one it skipped and why" grep -q "skipped checkpoint 'step_10'.*model.safetensors" "$work/fallback.log"
check "... and the one it used" grep -q "resuming from .*step_5, the newest intact checkpoint" "$work/fallback.log"
for d in "$run"/checkpoints/step_*; do truncate -s 64 "$d/model.safetensors"; done
expect_status "with no intact checkpoint, resume fails and says why" 2 "no intact checkpoint" "$pretrain" --resume "$run"

# --- Range checks, before anything is touched (the full table is tests/train/test_validate.cpp). ---
before=$(snapshot "$run")
while read -r set needle; do
  expect_status "--set $set is refused" 2 "$needle" "$pretrain" --config "$cfg" --overwrite --set "$set"
done <<'TABLE'
optim.lr=0 optim.lr must be > 0, got 0
train.steps=0 train.steps must be >= 1, got 0
train.grad_accum=3 train.grad_accum (3)
train.seq_len=1 train.seq_len must be >= 2, got 1
log.probe_eps=1 log.probe_eps must be in (0, 1), got 1
data.random_tokens=[4,40] data.random_tokens must be [a, b]
data.fixed_token_pos=32 data.fixed_token_pos must be in [-1, 31], got 32
train.skip_nonfinite=-1 train.skip_nonfinite must be >= 0, got -1
TABLE
check "... and the run directory is as it was" test "$(snapshot "$run")" = "$before"

cli_summary
