#!/usr/bin/env bash
# The README's main command: installs dependencies, builds the apps, pretrains the embedded default (a tiny
# byte-level LLaMA on the English text of Debian's `fortunes` package) and probes it for attention sinks.
# Results land in runs/quickstart/ (metrics.jsonl, checkpoints, probe/*.json|svg|csv).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build/quickstart -DCMAKE_BUILD_TYPE=Release -DSINKLAB_BUILD_TESTS=OFF -DSINKLAB_BUILD_BENCHMARKS=OFF \
  -DSINKLAB_ENABLE_CUDA=OFF -DCMAKE_CXX_COMPILER_LAUNCHER=ccache
cmake --build build/quickstart -j"$(nproc)" --target sinklab-pretrain sinklab-probe
run=runs/quickstart
./build/quickstart/apps/pretrain/sinklab-pretrain --config configs/tiny_fortunes.json --set run_dir="$run" --overwrite
./build/quickstart/apps/probe/sinklab-probe sink --model "$run/final" --data /usr/share/games/fortunes/literature \
  --seq-len 64 --samples 100 --out "$run/probe"
./build/quickstart/apps/probe/sinklab-probe norms --model "$run/final" --data /usr/share/games/fortunes/literature \
  --seq-len 64 --samples 100 --out "$run/probe"
./build/quickstart/apps/probe/sinklab-probe plot "$run"
echo
echo "quickstart: results in $run/ (metrics.jsonl, final/, probe/sink.json, probe/*.svg)"
