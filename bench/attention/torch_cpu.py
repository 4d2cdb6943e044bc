#!/usr/bin/python3
"""Eager PyTorch CPU versions of the benchmarked attention variants on the shapes of bench_attention, and a ratio
table against sinklab's numbers.

    ./build/bench/attention/bench_attention --benchmark_out=ours.json --benchmark_out_format=json
    /usr/bin/python3 bench/attention/torch_cpu.py --ours ours.json

FLOPs as in DESIGN §7: forward 4·B·H·S²·D halved for causal, backward 2.5x forward. PyTorch runs the variants the way
the papers' code does (materialised S×S scores); softmax additionally through F.scaled_dot_product_attention.
"""
import argparse
import json
import math
import time

import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from torch_ceiling import sgemm_ceiling  # noqa: E402


def causal_mask(S):
    return torch.ones(S, S, dtype=torch.bool).tril()


def make(S, D, B=1, H=8):
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(B, H, S, D, generator=g) for _ in range(3))
    return q, k, v


def scores(q, k):
    return q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])


def masked(w, mask):
    return w * mask


def v_softmax(q, k, v, mask):
    s = scores(q, k).masked_fill(~mask, float("-inf"))
    return torch.softmax(s, -1) @ v


def v_sdpa(q, k, v, mask):  # PyTorch >= 2.0 only
    return F.scaled_dot_product_attention(q, k, v, is_causal=True)


def v_softmax1(q, k, v, mask):
    s = scores(q, k).masked_fill(~mask, float("-inf"))
    m = s.amax(-1, keepdim=True).clamp(min=0)
    e = (s - m).exp()
    return (e / (e.sum(-1, keepdim=True) + (-m).exp())) @ v


def v_clamp_denom(q, k, v, mask):
    w = masked(scores(q, k).clamp(max=5).exp(), mask)
    return (w / w.sum(-1, keepdim=True).clamp(min=1)) @ v


def v_divs(q, k, v, mask):
    w = masked(scores(q, k).clamp(max=5).exp(), mask)
    return (w @ v) / mask.sum(-1, keepdim=True)


def v_l2(q, k, v, mask):
    w = masked(scores(q, k).exp(), mask)
    return F.normalize(w @ v, dim=-1)


def v_sigmoid(q, k, v, mask):
    return masked(torch.sigmoid(scores(q, k)), mask) @ v


def v_sigmoid_norm(q, k, v, mask):
    w = masked(torch.sigmoid(scores(q, k)), mask)
    return (w / (w.sum(-1, keepdim=True) + 1e-8)) @ v


def v_linear_elu(q, k, v, mask):
    w = masked((F.elu(q) + 1) @ (F.elu(k) + 1).transpose(-1, -2), mask)
    return (w / w.sum(-1, keepdim=True)) @ v


def v_softpick(q, k, v, mask):
    s = scores(q, k).masked_fill(~mask, float("-inf"))
    m = s.amax(-1, keepdim=True)
    x = masked((s - m).exp() - (-m).exp(), mask)
    return (F.relu(x) / (x.abs().sum(-1, keepdim=True) + 1e-6)) @ v


def v_softmax_sink(q, k, v, mask, sink=None):  # gpt-oss: a learnable logit per head joins the denominator
    H = q.shape[1]
    b = torch.zeros(1, H, 1, 1) if sink is None else sink
    s = scores(q, k).masked_fill(~mask, float("-inf"))
    m = torch.maximum(s.amax(-1, keepdim=True), b)
    e = (s - m).exp()
    return (e / (e.sum(-1, keepdim=True) + (b - m).exp())) @ v


def v_gated_attention(q, k, v, mask):  # Qwen G1: elementwise sigmoid gate on the SDPA output
    g = torch.sigmoid(torch.ones_like(q) * 0.3)
    return g * v_softmax(q, k, v, mask)


def v_gated_softmax(q, k, v, mask):  # RNN paper: in gate on v, ÷ n_i, out gate (headwise), LayerNorm over head dim
    B, H, S, D = q.shape
    g_in = torch.sigmoid(torch.full((B, H, S, 1), 0.2))
    g_out = torch.sigmoid(torch.full((B, H, S, 1), -0.1))
    w = masked(scores(q, k).clamp(max=5).exp(), mask)
    o = g_out * ((w @ (g_in * v)) / mask.sum(-1, keepdim=True))
    return F.layer_norm(o, (D,), eps=1e-5)


def v_taylor(q, k, v, mask, terms=80):  # Σ_{n<80} sⁿ/n!, row-normalised, as the paper describes
    s = scores(q, k)
    w, term = torch.ones_like(s), torch.ones_like(s)
    for n in range(1, terms):
        term = term * s / n
        w = w + term
    w = masked(w, mask)
    return (w / w.sum(-1, keepdim=True)) @ v


def v_sigmoid_bias(q, k, v, mask):  # σ(s − log n)
    n = mask.sum(-1, keepdim=True).to(q.dtype)
    return masked(torch.sigmoid(scores(q, k) - n.log()), mask) @ v


def v_elu_norm(q, k, v, mask):
    w = masked(F.elu(scores(q, k)) + 1, mask)
    return (w / (w.sum(-1, keepdim=True) + 1e-8)) @ v


def v_kernel_elu_norm(q, k, v, mask):
    w = masked((F.elu(q) + 1) @ (F.elu(k) + 1).transpose(-1, -2) / math.sqrt(q.shape[-1]), mask)
    return (w / (w.sum(-1, keepdim=True) + 1e-8)) @ v


_MLP = {}


def v_kernel_mlp_norm(q, k, v, mask):  # shared 2-layer ReLU MLP feature map, ÷ max(|Σ|, 1)
    D = q.shape[-1]
    if D not in _MLP:
        g = torch.Generator().manual_seed(1)
        _MLP[D] = (torch.randn(D, D, generator=g) / math.sqrt(D), torch.randn(D, D, generator=g) / math.sqrt(D))
    w1, w2 = _MLP[D]
    phi = lambda x: F.relu(x @ w1.T) @ w2.T
    w = masked(phi(q) @ phi(k).transpose(-1, -2) / math.sqrt(D), mask)
    return (w / w.sum(-1, keepdim=True).abs().clamp(min=1)) @ v


VARIANTS = {
    "softmax": v_softmax,
    "softmax1": v_softmax1,
    "softmax_clamp_denom": v_clamp_denom,
    "softmax_divs": v_divs,
    "gated_softmax_no_gate_L2norm_nodivS_noclamp": v_l2,
    "sigmoid": v_sigmoid,
    "sigmoid_norm": v_sigmoid_norm,
    "linear_elu": v_linear_elu,
    "softpick": v_softpick,
    "softmax_sink": v_softmax_sink,
    "gated_attention": v_gated_attention,
    "gated_softmax": v_gated_softmax,
    "softmax_taylor_80terms": v_taylor,
    "sigmoid_bias": v_sigmoid_bias,
    "elu_norm": v_elu_norm,
    "kernel_elu_norm": v_kernel_elu_norm,
    "kernel_mlp_norm": v_kernel_mlp_norm,
}


def timeit(fn, reps):
    fn()
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t0) / reps



def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ours", help="bench_attention --benchmark_out JSON")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: every core, as sinklab uses)")
    ap.add_argument("--only", nargs="*", help="variant names to run (default: all)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads or os.cpu_count())
    if args.only:
        for name in list(VARIANTS):
            if name not in args.only:
                del VARIANTS[name]
    if hasattr(F, "scaled_dot_product_attention"):
        VARIANTS["softmax(sdpa)"] = v_sdpa
    ours = {}
    if args.ours:
        for b in json.load(open(args.ours))["benchmarks"]:
            ours[b["name"].replace("/real_time", "")] = b["real_time"] * {"ms": 1e-3, "us": 1e-6, "ns": 1e-9, "s": 1}[b["time_unit"]]
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, SGEMM n=2048: {sgemm_ceiling():.1f} GFLOP/s")
    print(f"{'pass':8} {'variant':46} {'shape':12} {'torch ms':>9} {'GFLOP/s':>8} {'ours ms':>8} {'GFLOP/s':>8} {'ours/torch':>10}")
    for S, D in ((1024, 64), (2048, 96)):
        q, k, v = make(S, D)
        mask = causal_mask(S)
        fwd_flops = 4 * 8 * S * S * D * 0.5
        for name, fn in VARIANTS.items():
            for pass_ in ("fwd", "fwd+bwd"):
                if pass_ == "fwd":
                    with torch.no_grad():
                        t = timeit(lambda: fn(q, k, v, mask), args.reps)
                    flops = fwd_flops
                else:
                    qg, kg, vg = (x.clone().requires_grad_() for x in (q, k, v))
                    do = torch.randn_like(q)

                    def step():
                        o = fn(qg, kg, vg, mask)
                        o.backward(do)

                    t = timeit(step, args.reps)
                    flops = 3.5 * fwd_flops
                key = f"{pass_}/{name.split('(')[0]}/S{S}_D{D}"
                ot = ours.get(key)
                ours_s = f"{ot * 1e3:8.1f} {flops / ot * 1e-9:8.1f} {t / ot:10.2f}" if ot else f"{'-':>8} {'-':>8} {'-':>10}"
                print(f"{pass_:8} {name:46} {f'S{S} D{D}':12} {t * 1e3:9.1f} {flops / t * 1e-9:8.1f} {ours_s}")


if __name__ == "__main__":
    main()
