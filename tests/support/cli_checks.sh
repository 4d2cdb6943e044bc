# Sourced by the CLI test scripts (tests/apps, tests/experiment, tests/dist): pass/fail counting and the checks they
# share. Each script ends with `cli_summary`, which prints "N passed, N failed" and returns non-zero on a failure.
passed=0 failed=0
ok() { echo "ok    $*"; passed=$((passed + 1)); }
bad() { echo "FAIL  $*"; failed=$((failed + 1)); }
# check WHAT CMD...: the command succeeds
check() { local what=$1; shift; if "$@" >/dev/null 2>&1; then ok "$what"; else bad "$what"; fi; }
# expect_error WHAT NEEDLE CMD...: the command fails and its stderr names NEEDLE
expect_error() {
  local what=$1 needle=$2; shift 2
  local err; err=$("$@" 2>&1 >/dev/null); local rc=$?
  if [ $rc -ne 0 ] && grep -qF -- "$needle" <<<"$err"; then ok "$what"; else bad "$what (rc $rc: $err)"; fi
}
cli_summary() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; }
# write_corpus FILE LINES: a small English corpus written by the test itself, so it needs nothing outside the build
write_corpus() {
  local i
  for i in $(seq 1 "$2"); do
    echo "the quick brown fox $i jumps over the lazy dog and the cat sat on the mat while it rained."
  done >"$1"
}
# expect_status WHAT RC NEEDLE CMD...: the command exits with status RC and its stderr names NEEDLE
expect_status() {
  local what=$1 want=$2 needle=$3; shift 3
  local err; err=$("$@" 2>&1 >/dev/null); local rc=$?
  if [ $rc -eq "$want" ] && grep -qF -- "$needle" <<<"$err"; then ok "$what"; else bad "$what (rc $rc: $err)"; fi
}
# wait_for_step RUN: until training has logged a step (at most 60 s)
wait_for_step() {
  for _ in $(seq 1 600); do grep -q '"step"' "$1/metrics.jsonl" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
# no_duplicate_steps RUN: metrics.jsonl has every training step once, in order
no_duplicate_steps() {
  /usr/bin/python3 -c "
import json, sys; s = [json.loads(l)['step'] for l in open('$1/metrics.jsonl') if 'loss' in l]
sys.exit(len(s) != len(set(s)) or s != sorted(s))"
}
