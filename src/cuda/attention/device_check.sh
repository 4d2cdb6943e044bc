#!/usr/bin/env bash
# Device checks of the fused CUDA attention (fused_cuda.cuh) for a session that has an H100/H200.
#
#   src/cuda/attention/device_check.sh pack   # here, on the build machine: copy the C++ dependencies the device
#                                             # image lacks (Eigen, Catch2, nlohmann_json, Google Benchmark; all
#                                             # with relocatable CMake configs) into build-deps/ (~12 MB; /build*/
#                                             # is git-ignored, so name build-deps in the device call's carry)
#   src/cuda/attention/device_check.sh run    # there: configure + build (sm_90), then
#       1. the GPU test: every variant × {causal, sliding, prefix} × shapes, fp32 (≤ 2e-4) and bf16 tensor cores
#          (norm-wise ≤ 3e-2) against the CPU op, plus biases/slots/full mask;
#       2. compute-sanitizer memcheck / racecheck / synccheck on a few variants (if the runtime supports it);
#       3. ptxas resource usage of the tile kernels (registers, spills, shared memory);
#       4. a benchmark subset (TFLOP/s, both CudaMath modes).
#   Logs go to $OUT (the device tool's folder) or /tmp/sinklab_device_check. Budget: ~4–6 min of build on 16 cores,
#   ~1–2 min of tests, ~2 min of benchmarks; STEPS="1 3" runs a subset.
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

OUT=${OUT:-/tmp/sinklab_device_check}
mkdir -p "$OUT"
B=${BUILD:-build-device}
STEPS=${STEPS:-"1 2 3 4"}
export LD_LIBRARY_PATH=$DEPS/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1
prefix=()
[ -d "$DEPS" ] && prefix=(-DCMAKE_PREFIX_PATH="$DEPS")
cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSINKLAB_ENABLE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
  -DSINKLAB_BUILD_APPS=OFF -DSINKLAB_NATIVE=OFF "${prefix[@]}" > "$OUT/configure.log" 2>&1 || {
  tail -30 "$OUT/configure.log"; exit 1; }
/usr/bin/time -f "build: %e s wall" cmake --build "$B" --target test_attention_fused bench_attention_cuda \
  -j"$(nproc)" > "$OUT/build.log" 2>&1 || { grep -E "error" "$OUT/build.log" | head -30; exit 1; }
tail -1 "$OUT/build.log"

for step in $STEPS; do
  case $step in
    1)
      echo "== 1. test_attention_fused"
      /usr/bin/time -f "test: %e s" "$B/tests/cuda/test_attention_fused" > "$OUT/test.log" 2>&1
      echo "exit $?"; grep -E "passed|failed|FAILED" "$OUT/test.log" | tail -5 ;;
    2)
      echo "== 2. compute-sanitizer"
      if command -v compute-sanitizer > /dev/null; then
        for tool in memcheck racecheck synccheck; do
          SINKLAB_TEST_VARIANTS=softmax,gated_softmax,kernel_mlp_norm,softpick,softmax_sink \
            timeout 240 compute-sanitizer --tool "$tool" --error-exitcode 9 "$B/tests/cuda/test_attention_fused" \
            "fused CUDA attention: score biases and sink slots" > "$OUT/sanitizer_$tool.log" 2>&1
          echo "$tool: exit $? ($(grep -cE '^========= (Invalid|Race|Barrier|Error)' "$OUT/sanitizer_$tool.log") reports)"
        done
      else
        echo "no compute-sanitizer on PATH"
      fi ;;
    3)
      echo "== 3. ptxas resource usage (tile kernels)"
      cuobjdump --dump-resource-usage "$B/src/cuda/libsinklab_cuda.a" 2>/dev/null |
        grep -E "Function .*(tile|tc)_kernel|REG:" | paste - - |
        sed -E 's/.*Function ([^:]*):.*REG:([0-9]+) STACK:([0-9]+) SHARED:([0-9]+).*/REG \2 STACK \3 \1/' |
        sort -k2 -n -r | head -12 | tee "$OUT/resources.txt" ;;
    4)
      echo "== 4. benchmark subset"
      "$B/bench/cuda/bench_attention_cuda" --benchmark_counters_tabular=true \
        --benchmark_filter='attention_cuda/softmax/.*/(causal|full)/S:(1024|4096)/D:(64|128)' \
        > "$OUT/bench.txt" 2>&1
      grep -E "attention_cuda|TFLOP" "$OUT/bench.txt" | head -40 ;;
  esac
done
