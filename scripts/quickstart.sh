#!/usr/bin/env bash
# The README's main command: installs dependencies, builds the apps and runs the positive control for attention sinks:
# two 1-layer LLaMAs on the generated Bigram-Backcopy task (Guo et al. 2024), one with softmax attention and one with
# sigmoid attention without normalisation. Softmax parks its idle queries on BOS (Sink_1 ~ 100 %); sigmoid does not
# (0 %). Results land in runs/quickstart/: results.md (the table printed below), SVG figures with CSVs, and one run
# directory per arm (metrics.jsonl, final/, loss.svg, sink.svg, probe/). Running it again reuses finished runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# The release preset (-O3, Ninja, ccache): the same build directory the benchmarks use.
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)" --target sinklab-pretrain sinklab-probe sinklab-experiment
bin=build/release/apps
out=runs/quickstart
start=$(date +%s)
$bin/experiment/sinklab-experiment experiments/quickstart.json --out "$out" --jobs 1 --threads "$(nproc)"
for arm in softmax sigmoid; do
  run=$out/$arm/seed_1
  $bin/probe/sinklab-probe plot "$run" >/dev/null
  echo
  $bin/probe/sinklab-probe sink --model "$run/final" --task "$run/config.json" --samples 100 --out "$run/probe"
done
echo
echo "quickstart: trained and probed in $(( $(date +%s) - start )) s"
echo "quickstart: results in $out/ (results.md, final_*.svg, curve_*.svg; per run: metrics.jsonl, final/, loss.svg, sink.svg, probe/)"
