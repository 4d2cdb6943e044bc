#!/usr/bin/python3
"""Re-measure a few attention variants in interleaved rounds and print medians and the ratio to softmax.

A shared 2-core machine drifts by 20 % and more between minutes, so one pass of bench_attention cannot settle a
ratio near a target. Each round runs softmax and the named variants in one fresh bench_attention process; the
ratio uses the medians over rounds of both sides.

    /usr/bin/python3 bench/attention/rounds.py --bench build/release/bench/attention/bench_attention \\
        --variants kernel_mlp,kernel_mlp_norm --rounds 3
"""
import argparse
import json
import statistics
import subprocess
import tempfile


def run_round(bench, variants, min_time):
    names = "|".join(sorted(set(["softmax"] + variants)))
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run([bench, f"--benchmark_filter=^fwd(\\+bwd)?/({names})/", f"--benchmark_min_time={min_time}",
                        f"--benchmark_out={out.name}", "--benchmark_out_format=json"],
                       check=True, stdout=subprocess.DEVNULL)
        rows = json.load(open(out.name))["benchmarks"]
    return {r["name"].removesuffix("/real_time"): r["GFLOP/s"] for r in rows if "GFLOP/s" in r}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", required=True, help="path to bench_attention")
    ap.add_argument("--variants", required=True, help="comma-separated registry names")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--min-time", type=float, default=1.0, help="--benchmark_min_time per benchmark, seconds")
    args = ap.parse_args()
    variants = [v for v in args.variants.split(",") if v]
    rounds = [run_round(args.bench, variants, args.min_time) for _ in range(args.rounds)]
    med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    shapes = sorted({k.split("/")[2] for k in med})
    print(f"medians of {args.rounds} rounds, GFLOP/s (fwd / fwd+bwd per shape); last column: fwd+bwd vs softmax, "
          "the worse shape")
    print("| variant | " + " | ".join(f"fwd {s} | fwd+bwd {s}" for s in shapes) + " | fwd+bwd vs softmax (min) |")
    print("|---|" + "---:|" * (2 * len(shapes) + 1))
    for v in ["softmax"] + [v for v in variants if v != "softmax"]:
        cells, ratio = [], float("inf")
        for s in shapes:
            cells += [f"{med[f'fwd/{v}/{s}']:.1f}", f"{med[f'fwd+bwd/{v}/{s}']:.1f}"]
            ratio = min(ratio, med[f"fwd+bwd/{v}/{s}"] / med[f"fwd+bwd/softmax/{s}"])
        print(f"| `{v}` | " + " | ".join(cells) + f" | {ratio:.2f} |")


if __name__ == "__main__":
    main()
