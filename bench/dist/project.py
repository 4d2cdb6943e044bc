#!/usr/bin/env python3
"""Projects data-parallel efficiency from measured numbers with the alpha-beta model (docs/distributed.md).

  project.py --alpha-us A --beta-ns-per-byte B --tokens-per-s-60m T [--ranks 8 64 512]

A, B: the fit printed by bench_dist_allreduce on 2 ranks (t(n) = A + B n for a 2-rank all-reduce of n bytes; a ring
all-reduce on 2 ranks is 2 steps of n/2 bytes, so the per-step latency is A/2 and the inverse bandwidth B).
T: tokens/s of one rank on the sink paper's 60M model (bench/README.md "Training throughput"); the 1B model's rate
is T scaled by the ratio of FLOPs per token (the same GFLOP/s). Global batch: the paper's 512 x 2048 tokens,
split evenly (one micro-batch per rank and step). Gradients are fp32. Prints per model and rank count: compute and
communication per step, efficiency without overlap (what sinklab does today) and with the reduction overlapped with
the backward (2/3 of compute) in buckets, and the smallest bucket whose latency is at most 10 % of its time.
"""
import argparse

MODELS = {  # name: (parameters, layers, d_model), embeddings and untied LM head included
    "60M": (136.5e6, 10, 768),
    "1B": (1.342e9, 22, 2048),
}
SEQ, BATCH = 2048, 512


def flops_per_token(params, layers, d_model, seq=SEQ):
    return 6 * params + 6 * layers * seq * d_model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--alpha-us", type=float, required=True)
    ap.add_argument("--beta-ns-per-byte", type=float, required=True)
    ap.add_argument("--tokens-per-s-60m", type=float, required=True, help="measured at seq 512")
    ap.add_argument("--ranks", type=int, nargs="+", default=[8, 64, 512])
    ap.add_argument("--rank-gflops", type=float, help="a hypothetical rank speed instead of the measured one")
    a = ap.parse_args()
    alpha = a.alpha_us * 1e-6 / 2  # per ring step
    beta = a.beta_ns_per_byte * 1e-9
    gflops = a.rank_gflops or a.tokens_per_s_60m * flops_per_token(*MODELS["60M"], seq=512) / 1e9
    source = "assumed" if a.rank_gflops else "from the 60M measurement"
    print(f"rank speed {gflops:.0f} GFLOP/s ({source}); alpha {alpha * 1e6:.2f} us per ring step, "
          f"beta {beta * 1e9:.3f} ns/byte ({1 / beta / 1e9:.2f} GB/s)")
    print("| model | ranks | compute s/step | comm s/step | efficiency, no overlap | efficiency, overlapped | bucket |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, (params, layers, d) in MODELS.items():
        t_tok = flops_per_token(params, layers, d) / (gflops * 1e9)
        grad_bytes = 4 * params
        for n in a.ranks:
            compute = BATCH * SEQ / n * t_tok
            # reduce-scatter + all-gather (ZeRO-0: of gradients; ZeRO-1: gradients, then weights): a ring's volume
            comm = 2 * (n - 1) * alpha + 2 * (n - 1) / n * grad_bytes * beta
            bucket = min(grad_bytes, 9 * n * alpha / beta)  # latency <= 10 % of a bucket's time
            last = 2 * (n - 1) * alpha + 2 * (n - 1) / n * bucket * beta  # the bucket left after the backward
            exposed = max(0.0, comm - 2 / 3 * compute) + last
            print(f"| {name} | {n} | {compute:.3g} | {comm:.3g} | {100 * compute / (compute + comm):.0f} % | "
                  f"{100 * compute / (compute + exposed):.0f} % | {bucket / 2**20:.2g} MiB |")


if __name__ == "__main__":
    main()
