#!/usr/bin/env bash
# sinklab-experiment as a user runs it: a 2 arms x 2 seeds grid of tiny pretrain runs and its results; the same
# command on a half-finished grid (one run's final/ deleted) re-runs only that run and gives the same table;
# --report-only; a failing arm; SIGTERM to the runner; the errors a user meets on a bad grid.
#   grid_end_to_end.sh EXPERIMENT PRETRAIN WORKDIR
set -u
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../support/cli_checks.sh"
exp=$1 pretrain=$2 work=$3
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
py() { /usr/bin/python3 -c "$@"; }

# A small English corpus and a tiny model that trains in well under a second; paths relative to the config.
mkdir -p data configs grids
write_corpus data/corpus.txt 400
cat >configs/tiny.json <<'JSON'
{"model": {"vocab_size": 258, "d_model": 32, "n_layers": 2, "n_heads": 2, "d_ff": 64, "max_seq_len": 32},
 "data": {"format": "text", "tokenizer": "byte", "train": ["../data/corpus.txt"], "val_fraction": 0.1},
 "train": {"steps": 1000, "batch_size": 4, "seq_len": 32},
 "optim": {"lr": 3e-3, "warmup": 5},
 "log": {"every": 5, "eval_every": 10, "eval_batches": 2, "checkpoint_every": 10, "probe_every": 10, "probe_samples": 4}}
JSON
# grid NAME ARMS [EXTRA]: writes grids/NAME.json over the tiny config
grid() {
  cat >"grids/$1.json" <<JSON
{"name": "$1", "title": "Tiny grid $1", "description": "Written by grid_end_to_end.sh.",
 "base": "../configs/tiny.json", "set": {"train.steps": 20},
 "arms": $2, "seeds": [1, 2], "metrics": ["loss", "val_loss", "sink1"], "primary": "val_loss"${3:-}}
JSON
}
grid tiny '[{"name": "softmax", "set": {"model.attention": "softmax"}}, {"name": "k_bias", "set": {"model.slot": "k"}}]'
out=runs/experiments/tiny

check "--help documents --report-only" bash -c "'$exp' --help | grep -q -- --report-only"
grid typo '[{"name": "a"}]' ', "seed": [3]'
expect_error "an unknown grid key names the nearest one" "did you mean 'seeds'?" "$exp" grids/typo.json --pretrain "$pretrain"
grid typo '[{"name": "a"}, {"name": "b", "set": {"model.atention": "softmax"}}]'
expect_error "an unknown pretrain key is caught before running, naming the arm" "arm 'b'" \
  "$exp" grids/typo.json --pretrain "$pretrain"
check "... and nothing ran" test ! -e runs/experiments/typo
grid typo '[{"name": "a"}, {"name": "a"}]'
expect_error "a duplicate arm name is refused" "arm name 'a' is used twice" "$exp" grids/typo.json
expect_error "an unknown option names the nearest one" "did you mean '--jobs'?" "$exp" grids/tiny.json --job 2

"$exp" grids/tiny.json --pretrain "$pretrain" --dry-run >dry.txt 2>&1
check "--dry-run prints one command per run" test "$(grep -c "^$pretrain --config" dry.txt)" -eq 4
check "--dry-run passes set values as JSON" grep -qF -- "--set 'model.attention=\"softmax\"'" dry.txt
check "--dry-run runs nothing" test ! -e runs

"$exp" grids/tiny.json --pretrain "$pretrain" --jobs 2 --threads 1 >first.txt 2>&1
rc=$?
check "the grid runs (exit 0)" test $rc -eq 0
[ $rc -eq 0 ] || cat first.txt
for f in results.json results.csv results.md final_val_loss.svg final_val_loss.csv curve_sink1.svg curve_sink1.csv \
  runner.jsonl; do
  check "writes $f" test -s "$out/$f"
done
check "every run has a final model, and its log beside its directory" bash -c \
  "ls $out/*/seed_*/final/model.safetensors | wc -l | grep -qx 4 && ls $out/*/seed_*.log | wc -l | grep -qx 4"
check "results.json: 4 complete runs, per-arm mean/sd/n and mean curves" py "
import json; j = json.load(open('$out/results.json'))
assert [r['status'] for r in j['runs']] == ['done'] * 4, j['runs']
assert [(r['arm'], r['seed']) for r in j['runs']] == [('softmax', 1), ('softmax', 2), ('k_bias', 1), ('k_bias', 2)]
for a in j['arms']:
    v = a['final']['val_loss']
    assert v['n'] == 2 and v['sd'] is not None and abs(v['mean'] - sum(v['values']) / 2) < 1e-12, v
    assert a['curves']['loss']['step'] == [5, 10, 15, 20], a['curves']['loss']
assert j['runs'][0]['wall_s'] > 0 and j['wall_s_total'] > 0
assert j['stamp']['command'].endswith('--threads 1') and j['stamp']['cores'] >= 1"
check "results.md has the stamp and a row per arm" bash -c "grep -q '^- \*\*sinklab:\*\* ' $out/results.md &&
  grep -q '^| softmax | [0-9.]* ± [0-9.e-]* |' $out/results.md && grep -q '^| k_bias | ' $out/results.md"

# A half-finished grid: k_bias/seed_2 lost its final model. The same command must redo that run only.
stamp_of() { stat -c '%y' "$out/$1/final/model.safetensors" "$out/$1/metrics.jsonl" "$out/$1.log"; }
for r in softmax/seed_1 softmax/seed_2 k_bias/seed_1; do stamp_of $r; done >mtimes_before.txt
cp "$out/results.csv" first.csv
cp "$out/results.md" first.md
rm -rf "$out/k_bias/seed_2/final"
"$exp" grids/tiny.json --pretrain "$pretrain" --jobs 2 --threads 1 >second.txt 2>&1
rc=$?
check "the second invocation exits 0" test $rc -eq 0
check "it finds 3 runs done and 1 to resume" grep -q "3 done, 1 to resume, 0 to start" second.txt
check "it starts only k_bias/seed_2" bash -c "grep '^\[' second.txt | grep -c . | grep -qx 1 && grep -q '^\[1/1\] resume k_bias/seed_2' second.txt"
check "runner.jsonl: one more start, for k_bias/seed_2" py "
import json; ev = [json.loads(l) for l in open('$out/runner.jsonl')]
starts = [e['run'] for e in ev if e['event'] == 'start']
assert sorted(starts) == sorted(['softmax/seed_1', 'softmax/seed_2', 'k_bias/seed_1', 'k_bias/seed_2', 'k_bias/seed_2']), starts"
for r in softmax/seed_1 softmax/seed_2 k_bias/seed_1; do stamp_of $r; done >mtimes_after.txt
check "the other runs' files are untouched" cmp -s mtimes_before.txt mtimes_after.txt
check "k_bias/seed_2 has its final model again" test -s "$out/k_bias/seed_2/final/model.safetensors"
check "results.csv: the untouched runs' rows are identical" bash -c "diff <(grep -v '^k_bias,2,' first.csv) <(grep -v '^k_bias,2,' $out/results.csv)"
check "results.csv: the resumed run's metrics are identical" bash -c \
  "diff <(grep '^k_bias,2,' first.csv | cut -d, -f1-3,5-) <(grep '^k_bias,2,' $out/results.csv | cut -d, -f1-3,5-)"
check "results.md: the untouched arm's row is identical" bash -c "diff <(grep '^| softmax | ' first.md) <(grep '^| softmax | ' $out/results.md)"

"$exp" grids/tiny.json --report-only --report report >report.txt 2>&1
check "--report-only exits 0" test $? -eq 0
check "--report-only writes the report directory" bash -c "test -s report/results.md && test -s report/final_sink1.svg && test -s report/curve_loss.csv"
check "--report-only rebuilds the same table" cmp -s report/results.csv "$out/results.csv"

# A failing arm: reported with its log's tail, the other runs finish, results are written, the exit status is not 0.
grid broken '[{"name": "ok"}, {"name": "broken", "set": {"model.attention": "no_such_attention"}}]'
"$exp" grids/broken.json --pretrain "$pretrain" >broken.txt 2>broken.err
rc=$?
check "a failed run makes the exit status 1" test $rc -eq 1
check "the failure names the run, its exit status and its log's last lines" bash -c \
  "grep -q 'FAILED  broken/seed_1 (exit 2)' broken.err && grep -q \"unknown attention variant 'no_such_attention'\" broken.err"
check "the other runs finish and are tabulated" bash -c \
  "grep -q '^| ok | .* | 2/2 |' runs/experiments/broken/results.md && grep -q '^| broken | — | — | — | 0/2 |' runs/experiments/broken/results.md"
check "results.md marks the failed runs" grep -q '^| broken | 1 | failed (exit 2) |' runs/experiments/broken/results.md

# SIGTERM to the runner: passed on to pretrain, which saves a checkpoint; exit 130; the next command resumes.
grid long '[{"name": "only"}]'
sed -i 's/"train.steps": 20/"train.steps": 100000/; s/"seeds": \[1, 2\]/"seeds": [1]/' grids/long.json
"$exp" grids/long.json --pretrain "$pretrain" --threads 1 >long.txt 2>&1 &
pid=$!
for _ in $(seq 1 600); do  # wait (at most 60 s) until training has started
  grep -q '"step"' runs/experiments/long/only/seed_1/metrics.jsonl 2>/dev/null && break
  sleep 0.1
done
kill -TERM $pid
wait $pid
rc=$?
check "SIGTERM: the runner exits 130" test $rc -eq 130
check "SIGTERM: the run saved a checkpoint" test -s runs/experiments/long/only/seed_1/checkpoints/latest
check "SIGTERM: the runner logged the run's exit 130" grep -q '"exit":130' runs/experiments/long/runner.jsonl
"$exp" grids/long.json --pretrain "$pretrain" --dry-run >long_dry.txt 2>&1
check "the next command resumes the interrupted run" grep -q -- "--resume runs/experiments/long/only/seed_1" long_dry.txt

# A grid that now asks for something else than what a finished run was trained with is refused, not mixed in.
sed -i 's/"model.attention": "softmax"/"model.attention": "sigmoid"/' grids/tiny.json
expect_error "a stale finished run is refused, naming the key" "model.attention" \
  "$exp" grids/tiny.json --pretrain "$pretrain"

cli_summary
