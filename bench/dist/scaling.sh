#!/usr/bin/env bash
# Tokens/s of 2 ranks × 1 thread against 1 rank × 2 threads (and 1 × 1) on small models, and the share of rank 0's
# time spent in gradient and weight collectives (metrics.jsonl's comm_s, which includes waiting for the slower rank).
# Every arm trains the same run (grad_accum 2, so the 2-rank arm is bit-identical to the others).
#   bench/dist/scaling.sh PRETRAIN [STEPS]        (bench/README.md "Data-parallel pretraining")
set -euo pipefail
pretrain=$1 steps=${2:-60}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
here=$(cd "$(dirname "$0")/../.." && pwd)
summary() {  # median tokens/s over the records after the first, and comm_s / wall time
  /usr/bin/python3 - "$1/metrics.jsonl" "$2" <<'PY'
import json, statistics, sys
rows = [r for r in map(json.loads, open(sys.argv[1])) if "tokens_per_s" in r]
timed = rows[1:]  # the first interval holds the start-up
secs = sum((r["tokens"] - p["tokens"]) / r["tokens_per_s"] for p, r in zip(rows, timed))
comm = sum(r.get("comm_s", 0.0) for r in timed)
tps = statistics.median(r["tokens_per_s"] for r in timed)
print(f"{sys.argv[2]:<28} {tps:10.0f} {100 * comm / secs:8.1f}")
PY
}
echo "arm                          tokens/s   comm %"
for shape in "128 4 384" "256 4 768"; do
  read -r d layers ff <<<"$shape"
  common=(--config "$here/configs/tiny_fortunes.json" --set train.steps="$steps" --set train.grad_accum=2
          --set model.d_model="$d" --set model.n_layers="$layers" --set model.d_ff="$ff"
          --set log.every=10 --set log.eval_every=0 --set log.probe_every=0 --set log.checkpoint_every=0
          --set data.cache_dir="$work/cache")
  echo "# d_model $d, $layers layers, d_ff $ff"
  "$pretrain" "${common[@]}" --set run_dir="$work/a$d" --threads 2 >/dev/null 2>&1
  summary "$work/a$d" "1 rank x 2 threads"
  mpirun --oversubscribe -np 2 "$pretrain" "${common[@]}" --set run_dir="$work/b$d" --threads 1 >/dev/null 2>&1
  summary "$work/b$d" "2 ranks x 1 thread"
  "$pretrain" "${common[@]}" --set run_dir="$work/c$d" --threads 1 >/dev/null 2>&1
  summary "$work/c$d" "1 rank x 1 thread"
done
