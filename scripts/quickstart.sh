#!/usr/bin/env bash
# The README's main command: installs dependencies, builds the apps, pretrains the embedded default (a tiny
# byte-level LLaMA on the English text of Debian's `fortunes` package) and probes it for attention sinks and
# activation norms on a fortunes file it did not train on (art). Results land in runs/quickstart/ (metrics.jsonl,
# final/, loss.svg, sink.svg, probe/*.json|svg|csv).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# The release preset (-O3, Ninja, ccache): the same build directory the benchmarks use.
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)" --target sinklab-pretrain sinklab-probe
bin=build/release/apps
run=runs/quickstart
start=$(date +%s)
$bin/pretrain/sinklab-pretrain --config configs/tiny_fortunes.json --set run_dir="$run" --overwrite
$bin/probe/sinklab-probe sink --model "$run/final" --data /usr/share/games/fortunes/art \
  --seq-len 64 --samples 100 --out "$run/probe"
$bin/probe/sinklab-probe norms --model "$run/final" --data /usr/share/games/fortunes/art \
  --seq-len 64 --samples 100 --out "$run/probe"
$bin/probe/sinklab-probe plot "$run"
echo
echo "quickstart: trained and probed in $(( $(date +%s) - start )) s"
echo "quickstart: results in $run/ (metrics.jsonl, final/, loss.svg, sink.svg, probe/sink.json, probe/norms.json, probe/*.svg)"
