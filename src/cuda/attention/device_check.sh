#!/usr/bin/env bash
# Device checks of the CUDA backend (fused attention, GEMM, allocator, ops) for a session that has an H100/H200,
# sized for ONE device call: the command's own wall time stays under DEADLINE (default 450 s, so ~8 minutes with
# the tool's start and transfers on top), whatever a step does.
#
#   src/cuda/attention/device_check.sh pack   # here, on the build machine: copy the C++ dependencies the device
#                                             # image lacks (Eigen, Catch2, nlohmann_json, Google Benchmark; all
#                                             # with relocatable CMake configs) into build-deps/ (~12 MB; /build*/
#                                             # is git-ignored, so name build-deps in the device call's carry)
#   src/cuda/attention/device_check.sh run    # there; here it is the dry run (below)
# The device call: run(command="src/cuda/attention/device_check.sh run", carry=["build-deps"], timeout_s=540).
#
# Steps of `run`, in this order (STEPS="build regs tests bench" by default; name fewer to run fewer):
#   build  configure $BUILD (default build-device) once: Release at -O2, sm_90, no apps, no -march=native; then
#          build every gpu-labelled test's target and the two benches with -j$JOBS (default: every core). On 16
#          cores the slowest translation unit (tile_shard_0.cu, TaylorExp<80>) bounds it: ~2–4 min (an estimate).
#   regs   ptxas resource usage of the tile kernels, from cuobjdump -res-usage on libsinklab_cuda.a (static: no
#          device needed): registers, stack, local (spills) and shared bytes, one demangled kernel per line.
#   tests  with a device, four processes at once (nothing here is timed, so they may share the GPU):
#            ctest -L gpu  (test_allocator, test_gemm, test_ops, test_attention_functors, test_attention_fused, and
#            any other gpu-labelled test of the tree);
#            compute-sanitizer memcheck, racecheck and synccheck on test_attention_fused "[sanitize]": one case of
#            each kernel at S = 70 — fp32 tiles at D = 64/128/192, bf16 mma.sync tiles at D = 64/128, an input
#            gate's fp32 dK/dV behind tensor-core forward and dQ, the norm/sink/slot sums, the bias table, the MLP
#            feature map, B = 2 for the folded grid.
#   bench  alone (timed): bench_gemm_cuda, then bench_attention_cuda on softmax, S ∈ {1k, 4k}, D ∈ {64, 128},
#          causal and full, forward and forward+backward, both CudaMath modes.
# Every step runs under `timeout`: its limit is what is left of DEADLINE less what the later steps reserve, so a
# hung step cannot take the call with it; a step with no time left is skipped, and summary.txt says so.
#
# Without a device (nvidia-smi lists no GPU) build and regs run as usual, ctest runs (each GPU test prints
# "skipped: no CUDA device" and passes), the sanitizers are skipped with the reason, and the benches print their
# own skip line: that is the dry run. Here:
#   OUT=/tmp/dc BUILD=build/cudafix JOBS=1 DEADLINE=7200 BUILD_LIMIT=7000 nice -n 19 src/cuda/attention/device_check.sh run
# (an existing BUILD keeps its configuration).
#
# Output: six files under $OUT (the device tool's folder; default /tmp/sinklab_device_check), well inside what the
# tool brings back (8 files of 16 MiB): summary.txt (device, each step's verdict and seconds, printed again at
# the end), build.log, resources.txt, ctest.log, sanitizers.log, bench.txt.
set -uo pipefail
cd "$(dirname "$0")/../../.."
mode=${1:-run}
DEPS=$PWD/build-deps/usr

if [ "$mode" = pack ]; then
  rm -rf build-deps && mkdir -p "$DEPS"/{include,share/cmake,lib/cmake,lib/x86_64-linux-gnu/cmake}
  cp -r /usr/include/eigen3 /usr/include/catch2 /usr/include/nlohmann /usr/include/benchmark "$DEPS/include/"
  mkdir -p "$DEPS/share/eigen3" && cp -r /usr/share/eigen3/cmake "$DEPS/share/eigen3/"
  cp -r /usr/share/cmake/nlohmann_json "$DEPS/share/cmake/"
  cp -r /usr/lib/cmake/Catch2 "$DEPS/lib/cmake/" && cp -a /usr/lib/libCatch2WithMain.a "$DEPS/lib/"
  cp -r /usr/lib/x86_64-linux-gnu/cmake/benchmark "$DEPS/lib/x86_64-linux-gnu/cmake/"
  cp -a /usr/lib/x86_64-linux-gnu/libbenchmark* "$DEPS/lib/x86_64-linux-gnu/"
  du -sh build-deps
  exit 0
fi
[ "$mode" = run ] || { echo "usage: $0 pack|run" >&2; exit 2; }

OUT=${OUT:-/tmp/sinklab_device_check}
B=${BUILD:-build-device}
STEPS=${STEPS:-"build regs tests bench"}
DEADLINE=${DEADLINE:-450}
BUILD_LIMIT=${BUILD_LIMIT:-330}  # the build's own cap within DEADLINE (a dry run on 2 cores needs far more)
JOBS=${JOBS:-$(nproc)}
mkdir -p "$OUT"
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
summary=$OUT/summary.txt
: > "$summary"
export LD_LIBRARY_PATH=$DEPS/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
t0=$SECONDS

say() { echo "$*" | tee -a "$summary"; }
want() { [[ " $STEPS " == *" $1 "* ]]; }
# Seconds a step may take: what is left of DEADLINE less `reserve` for the later steps, at most `cap`.
budget() {
  local cap=$1 reserve=$2 t
  t=$((DEADLINE - (SECONDS - t0) - reserve))
  ((t > cap)) && t=$cap
  ((t < 0)) && t=0
  echo "$t"
}
# Keeps a log under the tool's 16 MiB per file: its head and tail.
trim() {
  [ -f "$1" ] && [ "$(stat -c %s "$1")" -gt 8000000 ] || return 0
  { head -c 4000000 "$1"; printf '\n... [trimmed] ...\n'; tail -c 4000000 "$1"; } > "$1.part" && mv "$1.part" "$1"
}
# cuobjdump -res-usage → "REG STACK LOCAL SHARED kernel", tile kernels only. The report names each function on a
# "Function <mangled>:" line and gives its counts on the next "REG:..." line; a REG line belongs to the function
# named just above it, whatever that function is (so device functions and other kernels are read, then dropped).
resource_table() {
  awk '
    $1 == "Function" { name = $2; sub(/:$/, "", name); next }
    /REG:[0-9]+/ && name != "" {
      reg = stack = local = shared = "?"
      for (i = 1; i <= NF; ++i) {
        split($i, kv, ":")
        if (kv[1] == "REG") reg = kv[2]; else if (kv[1] == "STACK") stack = kv[2]
        else if (kv[1] == "LOCAL") local = kv[2]; else if (kv[1] == "SHARED") shared = kv[2]
      }
      if (name ~ /(fwd|dq|dkdv)_(tile|tc)_kernel/) printf "%s %s %s %s %s\n", reg, stack, local, shared, name
      name = ""
    }' |
    { if command -v cu++filt > /dev/null; then cu++filt; else c++filt; fi; } |
    sed -E 's/sinklab::attention::(cuda_detail::|kernel::)?//g; s/\((cuda_detail::)?DevCtx<.*$//; s/ void / /' |
    sort -k1,1nr -k5 | uniq
}

ctest_bin=$(command -v ctest || echo "$(dirname "$(command -v cmake)")/ctest")
# The targets behind the gpu-labelled tests (each test's executable once built, else its name, which is its
# target's for sinklab_add_test and tests/dist) that the build knows, so `ctest -L gpu` finds every test built;
# the backend's own as a floor when python3 is missing.
gpu_test_targets() {
  local known
  known=$(cmake --build "$B" --target help 2> /dev/null | sed -nE 's/^([A-Za-z0-9_.+-]+): .*/\1/p')
  {
    echo test_allocator test_gemm test_ops test_attention_functors test_attention_fused
    "$ctest_bin" --test-dir "$B" -L gpu --show-only=json-v1 2> /dev/null | python3 -c '
import json, os, sys
for t in json.load(sys.stdin).get("tests", []):
    print(os.path.basename(t["command"][0]) if t.get("command") else t["name"])' 2> /dev/null
  } | tr ' ' '\n' | grep -Fx -f <(echo "$known") | sort -u | tr '\n' ' '
}

say "device_check $(date -u +%FT%TZ), deadline ${DEADLINE} s, build dir $B, steps: $STEPS"
device=0
if command -v nvidia-smi > /dev/null && nvidia-smi -L 2> /dev/null | grep -q '^GPU'; then
  device=1
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv >> "$summary" 2>&1
else
  say "no CUDA device (nvidia-smi lists none): the device steps skip"
fi

if want build; then
  t=$(budget "$BUILD_LIMIT" 120)  # reserve: tests ≥ 60 s, bench ≥ 60 s
  s=$SECONDS
  : > "$OUT/build.log"
  if [ ! -f "$B/CMakeCache.txt" ]; then
    prefix=()
    [ -d "$DEPS" ] && prefix=(-DCMAKE_PREFIX_PATH="$DEPS")
    timeout 60 cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG" \
      -DSINKLAB_ENABLE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 -DSINKLAB_BUILD_APPS=OFF -DSINKLAB_BUILD_BENCHMARKS=ON \
      -DSINKLAB_NATIVE=OFF "${prefix[@]}" >> "$OUT/build.log" 2>&1 ||
      { say "build: configure failed"; tail -30 "$OUT/build.log"; exit 1; }
    t=$(budget "$BUILD_LIMIT" 120)
  fi
  targets="$(gpu_test_targets)bench_gemm_cuda bench_attention_cuda"
  echo "targets: $targets" >> "$OUT/build.log"
  # shellcheck disable=SC2086  # one word per target
  timeout "$t" cmake --build "$B" -j"$JOBS" --target $targets >> "$OUT/build.log" 2>&1
  rc=$?
  trim "$OUT/build.log"
  say "build: exit $rc in $((SECONDS - s)) s (limit $t s$([ $rc -eq 124 ] && echo ': timed out'))"
  if [ $rc -ne 0 ]; then
    grep -E "error|Error|timed out" "$OUT/build.log" | head -30 | tee -a "$summary"
    exit 1
  fi
fi

if want regs; then
  lib=$B/src/cuda/libsinklab_cuda.a
  if ! command -v cuobjdump > /dev/null; then
    say "regs: skipped (no cuobjdump on PATH)"
  elif [ ! -f "$lib" ]; then
    say "regs: skipped ($lib not built)"
  else
    timeout "$(budget 60 120)" cuobjdump -res-usage "$lib" 2> "$tmp/regs.err" | resource_table > "$OUT/resources.txt"
    n=$(wc -l < "$OUT/resources.txt")
    say "regs: $n tile kernels (REG STACK LOCAL SHARED name; most registers first; LOCAL > 0 means spills):"
    head -12 "$OUT/resources.txt" | cut -c1-200 | tee -a "$summary"
    awk '$3 > 0' "$OUT/resources.txt" | head -5 | sed 's/^/  spills: /' | tee -a "$summary"
    [ "$n" -gt 0 ] || head -5 "$tmp/regs.err" | tee -a "$summary"
  fi
fi

if want tests; then
  t=$(budget 180 75)  # reserve: bench
  s=$SECONDS
  timeout "$t" "$ctest_bin" --test-dir "$B" -L gpu -j 5 -V --timeout "$t" > "$OUT/ctest.log" 2>&1 &
  ctest_pid=$!
  : > "$OUT/sanitizers.log"
  tools=(memcheck racecheck synccheck)
  san_skip=""
  if [ $device -eq 0 ]; then
    san_skip="no CUDA device"
  elif ! command -v compute-sanitizer > /dev/null; then
    san_skip="no compute-sanitizer on PATH"
  else
    for tool in "${tools[@]}"; do
      timeout "$t" compute-sanitizer --tool "$tool" --error-exitcode 9 "$B/tests/cuda/test_attention_fused" \
        "[sanitize]" > "$tmp/$tool.log" 2>&1 &
      echo $! > "$tmp/$tool.pid"
    done
  fi
  wait "$ctest_pid"
  rc=$?
  trim "$OUT/ctest.log"
  say "ctest -L gpu: exit $rc in $((SECONDS - s)) s (limit $t s; 124 = timed out)"
  grep -E "tests passed|tests failed|Failed|\*\*\*" "$OUT/ctest.log" | head -12 | tee -a "$summary"
  if [ $device -eq 0 ]; then
    say "  tests that printed their skip line: $(grep -c "skipped: no CUDA device" "$OUT/ctest.log")"
  fi
  for tool in "${tools[@]}"; do
    [ -f "$tmp/$tool.pid" ] || continue
    wait "$(cat "$tmp/$tool.pid")"
    rc=$?
    {
      echo "==== compute-sanitizer --tool $tool: exit $rc (9 = it found errors, 124 = timed out)"
      cat "$tmp/$tool.log"
    } >> "$OUT/sanitizers.log"
    say "$tool: exit $rc; $(grep -E '(ERROR|RACECHECK) SUMMARY' "$tmp/$tool.log" | tail -1 | sed 's/^=* *//')"
    grep -E "test cases|assertions" "$tmp/$tool.log" | tail -1 | sed 's/^/  /' | tee -a "$summary"
  done
  [ -n "$san_skip" ] && say "sanitizers: skipped ($san_skip)" && echo "skipped: $san_skip" >> "$OUT/sanitizers.log"
  trim "$OUT/sanitizers.log"
  say "tests: $((SECONDS - s)) s"
fi

if want bench; then
  s=$SECONDS
  : > "$OUT/bench.txt"
  t=$(budget 60 30)
  if [ "$t" -gt 5 ]; then
    echo "==== bench_gemm_cuda" >> "$OUT/bench.txt"
    timeout "$t" "$B/bench/cuda/bench_gemm_cuda" >> "$OUT/bench.txt" 2>&1
    say "bench_gemm_cuda: exit $?"
  else
    say "bench_gemm_cuda: skipped (deadline)"
  fi
  t=$(budget 150 0)
  if [ "$t" -gt 5 ]; then
    echo "==== bench_attention_cuda" >> "$OUT/bench.txt"
    timeout "$t" "$B/bench/cuda/bench_attention_cuda" --benchmark_counters_tabular=true \
      --benchmark_filter='attention_cuda/softmax/.*/(causal|full)/S:(1024|4096)/D:(64|128)' >> "$OUT/bench.txt" 2>&1
    say "bench_attention_cuda: exit $? (limit $t s)"
  else
    say "bench_attention_cuda: skipped (deadline)"
  fi
  trim "$OUT/bench.txt"
  grep -E "^====|attention_cuda/|TFLOP|cublasLt|skipped" "$OUT/bench.txt" | head -50 | cut -c1-160 >> "$summary"
  say "bench: $((SECONDS - s)) s"
fi

say "device_check: $((SECONDS - t0)) s of the ${DEADLINE} s deadline; files in $OUT: $(ls "$OUT" | tr '\n' ' ')"
echo "==== summary.txt"
cat "$summary"
