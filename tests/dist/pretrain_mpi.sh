#!/usr/bin/env bash
# sinklab-pretrain under mpirun (issue 15): 2 ranks reproduce 1 process with grad_accum 2 bit for bit (every loss
# and every weight), ZeRO-1 reproduces ZeRO-0, a run resumes on 2 ranks and on 1, SIGINT to one rank makes every
# rank checkpoint and exit 130, and bad launches fail with a clear error instead of hanging.
#   pretrain_mpi.sh PRETRAIN MPIEXEC WORKDIR
# Every mpirun has a time limit (and the ranks a collective timeout), so a hang fails the test instead of CI.
set -u
pretrain=$1 mpiexec=$2 work=$3
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work" && mkdir -p "$work"
source "$here/../support/cli_checks.sh"
# Open MPI refuses root without these (CI runs as root) and one slot per core without --oversubscribe.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
mpi() { timeout -k 10 180 "$mpiexec" --oversubscribe "$@"; }
# same_losses A B: metrics.jsonl of both runs have the same steps with the same loss and grad_norm, exactly
same_losses() {
  /usr/bin/python3 - "$1/metrics.jsonl" "$2/metrics.jsonl" <<'PY'
import json, sys
def rows(p):
    return [(r["step"], r["loss"], r["grad_norm"], r.get("val_loss")) for r in map(json.loads, open(p)) if "loss" in r]
a, b = rows(sys.argv[1]), rows(sys.argv[2])
if a != b or not a:
    print(a, b, sep="\n")
    sys.exit(1)
PY
}
same_weights() { /usr/bin/python3 "$here/same_tensors.py" "$1/final/model.safetensors" "$2/final/model.safetensors"; }
same_moments() {
  /usr/bin/python3 "$here/same_tensors.py" "$1/checkpoints/$3/trainer_state.safetensors" \
    "$2/checkpoints/$3/trainer_state.safetensors"
}

corpus=$work/corpus.txt
write_corpus "$corpus" 300
cfg=$work/tiny.json
# Tied embeddings: the parameter that gets two contributions per backward (note [micro-batch sum], trainer.hpp).
cat >"$cfg" <<JSON
{"run_dir": "$work/one",
 "model": {"vocab_size": 258, "d_model": 32, "n_layers": 2, "n_heads": 2, "d_ff": 64, "max_seq_len": 32,
           "tie_embeddings": true},
 "data": {"format": "text", "tokenizer": "byte", "train": ["$corpus"], "val_fraction": 0.1},
 "train": {"steps": 6, "batch_size": 8, "grad_accum": 2, "seq_len": 32, "threads": 1, "collective_timeout": 60},
 "optim": {"lr": 3e-3, "warmup": 2, "clip": 0.5},
 "log": {"every": 1, "eval_every": 3, "eval_batches": 2, "checkpoint_every": 3, "keep_checkpoints": 0}}
JSON

# --- 2 ranks = 1 process with grad_accum 2, bit for bit; ZeRO-1 = ZeRO-0. ---
"$pretrain" --config "$cfg" >"$work/one.log" 2>&1
check "1 process, grad_accum 2, trains" test -s "$work/one/final/model.safetensors"
mpi -np 2 "$pretrain" --config "$cfg" --set run_dir="$work/two" >"$work/two.log" 2>&1
check "2 ranks train (exit 0)" test $? -eq 0 -a -s "$work/two/final/model.safetensors"
check "... every loss, gradient norm and validation loss is the 1-process run's" same_losses "$work/one" "$work/two"
check "... and every weight" same_weights "$work/one" "$work/two"
check "... and the AdamW moments of its checkpoint" same_moments "$work/one" "$work/two" step_6
check "... metrics.jsonl is written once (rank 0), with comm_s" bash -c \
  "[ \$(grep -c '\"loss\"' '$work/two/metrics.jsonl') -eq 6 ] && grep -q comm_s '$work/two/metrics.jsonl'"
check "... and rank 0 says it ran on 2 ranks" grep -q "2 ranks x 1 threads, ZeRO-0" "$work/two.log"
mpi -np 2 "$pretrain" --config "$cfg" --set run_dir="$work/zero1" --set train.zero=1 >"$work/zero1.log" 2>&1
check "ZeRO-1 on 2 ranks trains (exit 0)" test $? -eq 0 -a -s "$work/zero1/final/model.safetensors"
check "... every loss and gradient norm is ZeRO-0's" same_losses "$work/two" "$work/zero1"
check "... and every weight" same_weights "$work/two" "$work/zero1"
check "... and its checkpoint's gathered moments" same_moments "$work/two" "$work/zero1" step_6

# --- Resume with the same number of ranks and with another (ZeRO-1 shards gathered, then scattered again). ---
mpi -np 2 "$pretrain" --config "$cfg" --set run_dir="$work/r22" --set train.zero=1 --set train.steps=3 \
  >"$work/r22_a.log" 2>&1
mpi -np 2 "$pretrain" --resume "$work/r22" --set train.steps=6 >"$work/r22_b.log" 2>&1
check "resume 2 -> 2 (ZeRO-1) finishes" test $? -eq 0 -a -s "$work/r22/final/model.safetensors"
check "... with the uninterrupted run's losses" same_losses "$work/one" "$work/r22"
check "... and weights" same_weights "$work/one" "$work/r22"
mpi -np 2 "$pretrain" --config "$cfg" --set run_dir="$work/r21" --set train.zero=1 --set train.steps=3 \
  >"$work/r21_a.log" 2>&1
"$pretrain" --resume "$work/r21" --set train.steps=6 >"$work/r21_b.log" 2>&1
check "resume 2 -> 1 finishes" test $? -eq 0 -a -s "$work/r21/final/model.safetensors"
check "... with the uninterrupted run's losses" same_losses "$work/one" "$work/r21"
check "... and weights" same_weights "$work/one" "$work/r21"

# --- SIGINT to one rank: every rank stops at the same step, rank 0 checkpoints, all exit 130; then resume. ---
sig=$work/sig
mpi -np 2 "$pretrain" --config "$cfg" --set run_dir="$sig" --set train.steps=100000 --set train.zero=1 \
  --set log.checkpoint_every=0 >"$work/sig.log" 2>&1 &
launcher=$!
wait_for_step "$sig"
rank_pid=$(pgrep -f -n "[s]inklab-pretrain.*$sig" || true)
if [ -n "$rank_pid" ]; then kill -INT "$rank_pid"; fi
wait $launcher
rc=$?
check "SIGINT to one rank: the job exits 130" test $rc -eq 130
check "... no rank is left running" bash -c "! pgrep -f '[s]inklab-pretrain.*$sig'"
check "... and rank 0 wrote the checkpoint it stopped at" test -s "$sig/checkpoints/latest"
last=$(sed 's/step_//' "$sig/checkpoints/latest" 2>/dev/null || echo 0)
mpi -np 2 "$pretrain" --resume "$sig" --set train.steps=$((last + 2)) >"$work/sig_resume.log" 2>&1
check "... the run resumes on 2 ranks and finishes" test $? -eq 0 -a -s "$sig/final/model.safetensors"
check "... metrics.jsonl has every step once, in order" no_duplicate_steps "$sig"

# --- A rank killed outright: the job ends (no hang), and a resume takes the last complete checkpoint. ---
kill9=$work/kill9
mpi -np 2 "$pretrain" --config "$cfg" --set run_dir="$kill9" --set train.steps=100000 --set log.checkpoint_every=2 \
  >"$work/kill9.log" 2>&1 &
launcher=$!
for _ in $(seq 1 600); do [ -s "$kill9/checkpoints/latest" ] && break; sleep 0.1; done
rank_pid=$(pgrep -f -n "[s]inklab-pretrain.*$kill9" || true)
if [ -n "$rank_pid" ]; then kill -KILL "$rank_pid"; fi
wait $launcher
rc=$?
check "SIGKILL to one rank: the job ends with an error, not a hang" test $rc -ne 0 -a $rc -ne 124
check "... no rank is left running" bash -c "sleep 1; ! pgrep -f '[s]inklab-pretrain.*$kill9'"
last=$(sed 's/step_//' "$kill9/checkpoints/latest" 2>/dev/null || echo 0)
mpi -np 2 "$pretrain" --resume "$kill9" --set train.steps=$((last + 2)) >"$work/kill9_resume.log" 2>&1
check "... the run resumes from its newest complete checkpoint" test $? -eq 0 -a -s "$kill9/final/model.safetensors"

# --- Bad launches fail at once on every rank, naming the cause. ---
expect_status "a rank with a different config: error naming the key" 2 "optim.lr (0.003 on rank 0, 0.01 on rank 1)" \
  mpi -np 1 "$pretrain" --config "$cfg" --set run_dir="$work/bad1" : \
  -np 1 "$pretrain" --config "$cfg" --set run_dir="$work/bad1" --set optim.lr=0.01
expect_status "grad_accum not a multiple of the ranks: error naming both" 2 \
  "train.grad_accum (2) must be a multiple of the number of ranks (3)" \
  mpi -np 3 "$pretrain" --config "$cfg" --set run_dir="$work/bad2"
expect_status "a config error on one rank only: every rank stops with it" 2 "rank 1: " \
  mpi -np 1 "$pretrain" --config "$cfg" --set run_dir="$work/bad3" : \
  -np 1 "$pretrain" --config "$work/missing.json" --set run_dir="$work/bad3"
check "... and leaves no run behind" test ! -e "$work/bad1/config.json" -a ! -e "$work/bad3/config.json"
expect_status "a second job on a run directory in use fails (rank 0 holds the lock)" 2 "is in use by another run" \
  bash -c "'$pretrain' --config '$cfg' --set run_dir='$work/busy' --set train.steps=100000 >/dev/null 2>&1 & p=\$!;
           for _ in \$(seq 1 600); do grep -q step '$work/busy/metrics.jsonl' 2>/dev/null && break; sleep 0.1; done;
           timeout -k 10 120 '$mpiexec' --oversubscribe -np 2 '$pretrain' --resume '$work/busy'; rc=\$?;
           kill -TERM \$p; wait \$p; exit \$rc"

cli_summary
