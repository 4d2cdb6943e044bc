#!/usr/bin/env bash
# Builds everything (CPU targets; CUDA targets compile-only when nvcc is present) and runs the test suite.
# This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
cmake --preset ci
cmake --build --preset ci -j"$jobs"
ctest --preset ci -j"$jobs"
