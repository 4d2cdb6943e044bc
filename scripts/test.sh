#!/usr/bin/env bash
# Builds everything (CPU targets; CUDA targets compile-only when nvcc is present) and runs the test suite, then
# builds and runs the tests labelled `sanitize` under ASan+UBSan (the `asan` preset; any report aborts the test).
# This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
cmake --preset ci
cmake --build --preset ci -j"$jobs"
ctest --preset ci -j"$jobs"

# Sanitizers on the tests that read untrusted files (io, model configs and weights, probe inputs, the loader fuzz
# test): none links the attention instances, whose 8 heavy TUs would dominate an ASan build. Each test labelled
# `sanitize` is built by its name (sinklab_add_test names the target and the test alike). Measured on 2 cores from
# an empty ccache, with the machine shared: 5 min 9 s wall (configure 1 s, build 306 s, tests 3 s), 4 min 19 s of
# CPU, so about 2.5 min on 2 idle cores.
cmake --preset asan
mapfile -t sanitize_tests < <(ctest --preset asan -N | sed -n 's/^ *Test *#[0-9]*: *//p')
[ ${#sanitize_tests[@]} -gt 0 ] || { echo "test.sh: no tests labelled sanitize" >&2; exit 1; }
cmake --build --preset asan -j"$jobs" --target "${sanitize_tests[@]}"
ctest --preset asan -j"$jobs"
