#!/usr/bin/python3
"""Eager PyTorch CPU versions of the benchmarked attention variants on the shapes of bench_attention, and a ratio
table against sinklab's numbers.

    ./build/bench/attention/bench_attention --benchmark_out=ours.json --benchmark_out_format=json
    /usr/bin/python3 bench/attention/torch_cpu.py --ours ours.json
    /usr/bin/python3 bench/attention/torch_cpu.py --ours ours.json --only softmax,gated_softmax --reps 1  # quicker

FLOPs as in DESIGN §7: forward 4·B·H·S²·D halved for causal, backward 2.5x forward. PyTorch runs the variants the way
the papers' code does (materialised S×S scores); softmax additionally through F.scaled_dot_product_attention.
Every registered name has a twin; a variant's parameters (gates, norm weight and bias, sink logit, MLP weights) are
leaves that require grad, so fwd+bwd also computes their gradients, as sinklab's backward does.
"""
import argparse
import json
import math
import time

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from torch_ceiling import openblas_coretype, sgemm_ceiling  # noqa: E402  (first: it sets OpenBLAS's kernels)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402


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


def count(mask):  # n_i, the keys row i sees: the RNN paper's "divide by S"
    return mask.sum(-1, keepdim=True)


def cexp(q, k, mask):  # the RNN paper's exp(min(s, 5)), masked
    return masked(scores(q, k).clamp(max=5).exp(), mask)


def elu1(x):
    return F.elu(x) + 1


def learnable(x):  # a parameter of the variant: autograd computes its gradient too, as sinklab's backward does
    return x.requires_grad_()


def head_gate(q, value, given=None):  # headwise gate value, one per head and row: (B, H, S, 1)
    if given is not None:
        return given
    B, H, S, _ = q.shape
    return learnable(torch.full((B, H, S, 1), value, dtype=q.dtype))


def rms_norm(y, weight=None):  # over head_dim, weight shared across heads; eps of torch.nn.RMSNorm for float32
    weight = learnable(torch.ones(y.shape[-1], dtype=y.dtype)) if weight is None else weight
    return weight * y * torch.rsqrt(y.pow(2).mean(-1, keepdim=True) + 2.0 ** -23)


def layer_norm(y, weight=None, bias=None):  # nn.LayerNorm(head_dim), shared across heads
    D = y.shape[-1]
    weight = learnable(torch.ones(D, dtype=y.dtype)) if weight is None else weight
    bias = learnable(torch.zeros(D, dtype=y.dtype)) if bias is None else bias
    return F.layer_norm(y, (D,), weight, bias, 1e-5)


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
    w = cexp(q, k, mask)
    return (w / w.sum(-1, keepdim=True).clamp(min=1)) @ v


def v_detach_denom(q, k, v, mask):  # forward of clamp_denom; the denominator is a constant to autograd
    w = cexp(q, k, mask)
    return (w / w.sum(-1, keepdim=True).clamp(min=1).detach()) @ v


def v_detach_denom_gate(q, k, v, mask, g_out=None):
    w = cexp(q, k, mask)
    return head_gate(q, 0.45, g_out) * ((w / (w.sum(-1, keepdim=True) + 1e-4).detach()) @ v)


def v_divs(q, k, v, mask):
    w = cexp(q, k, mask)
    return (w @ v) / count(mask)


def v_softmax_gate(q, k, v, mask, g_out=None):  # no denominator at all
    return head_gate(q, 0.45, g_out) * (cexp(q, k, mask) @ v)


def rnn_gated(q, k, v, mask, g_in=None, g_out=None):  # g_out ⊙ (exp(min(s,5)) (g_in ⊙ v)) / n_i, before any norm
    if g_in is not None:
        v = g_in * v
    o = (cexp(q, k, mask) @ v) / count(mask)
    return o if g_out is None else g_out * o


def v_divs_gate(q, k, v, mask, g_out=None):
    return rnn_gated(q, k, v, mask, g_out=head_gate(q, 0.45, g_out))


def v_divs_gatev2(q, k, v, mask, g_out=None):  # v2 gates the rows of A before @ v: the same forward as divS_gate
    a = head_gate(q, 0.45, g_out) * cexp(q, k, mask) / count(mask)
    return a @ v


def v_divs_rmsnorm(q, k, v, mask, nw=None):
    return rms_norm(v_divs(q, k, v, mask), nw)


def taylor(s, terms=80):  # Σ_{n<terms} sⁿ/n!
    w, term = torch.ones_like(s), torch.ones_like(s)
    for n in range(1, terms):
        term = term * s / n
        w = w + term
    return w


def v_taylor(q, k, v, mask):  # row-normalised, as the paper describes
    w = masked(taylor(scores(q, k)), mask)
    return (w / w.sum(-1, keepdim=True)) @ v


def v_taylor_unnormalized(q, k, v, mask):  # what the paper's code returns
    return masked(taylor(scores(q, k)), mask) @ v


def v_gated_softmax(q, k, v, mask, g_in=None, g_out=None, nw=None, nb=None):  # in gate on v, ÷ n_i, out gate, LN
    return layer_norm(rnn_gated(q, k, v, mask, head_gate(q, 0.55, g_in), head_gate(q, 0.48, g_out)), nw, nb)


def v_gated_softmax_no_norm(q, k, v, mask, g_in=None, g_out=None):
    return rnn_gated(q, k, v, mask, head_gate(q, 0.55, g_in), head_gate(q, 0.48, g_out))


def v_gated_softmax_no_in_gate(q, k, v, mask, g_out=None, nw=None, nb=None):
    return layer_norm(rnn_gated(q, k, v, mask, g_out=head_gate(q, 0.48, g_out)), nw, nb)


def v_gated_softmax_no_out_gate(q, k, v, mask, g_in=None, nw=None, nb=None):
    return layer_norm(rnn_gated(q, k, v, mask, g_in=head_gate(q, 0.55, g_in)), nw, nb)


def v_gated_softmax_no_out_gate_no_norm(q, k, v, mask, g_in=None):
    return rnn_gated(q, k, v, mask, g_in=head_gate(q, 0.55, g_in))


def v_gated_relu(q, k, v, mask, g_out=None):  # min(relu(q)·relu(k)/√d, 5), ÷ n_i, out gate
    w = masked((F.relu(q) @ F.relu(k).transpose(-1, -2) / math.sqrt(q.shape[-1])).clamp(max=5), mask)
    return head_gate(q, 0.48, g_out) * ((w @ v) / count(mask))


def v_gated_softmax_no_gate(q, k, v, mask, nw=None, nb=None):
    return layer_norm(v_divs(q, k, v, mask), nw, nb)


def v_l2_clamp(q, k, v, mask):
    return F.normalize(cexp(q, k, mask) @ v, dim=-1)


def v_l2(q, k, v, mask):
    w = masked(scores(q, k).exp(), mask)
    return F.normalize(w @ v, dim=-1)


def v_relu_l2(q, k, v, mask):
    w = masked(F.relu(q) @ F.relu(k).transpose(-1, -2) / math.sqrt(q.shape[-1]), mask)
    return F.normalize(w @ v, dim=-1)


def v_out_gate_l2(q, k, v, mask, g_out=None):  # gate before the norm: cancels in forward, not in autograd's graph
    w = masked(scores(q, k).exp(), mask)
    return F.normalize(head_gate(q, 0.48, g_out) * (w @ v), dim=-1)


def v_post_out_gate_l2(q, k, v, mask, g_out=None):
    w = masked(scores(q, k).exp(), mask)
    return head_gate(q, 0.48, g_out) * F.normalize(w @ v, dim=-1)


def v_rmsnorm_nodivs(q, k, v, mask, nw=None):
    return rms_norm(cexp(q, k, mask) @ v, nw)


def v_sigmoid(q, k, v, mask):
    return masked(torch.sigmoid(scores(q, k)), mask) @ v


def v_sigmoid_norm(q, k, v, mask):
    w = masked(torch.sigmoid(scores(q, k)), mask)
    return (w / (w.sum(-1, keepdim=True) + 1e-8)) @ v


def v_linear_elu(q, k, v, mask):
    w = masked(elu1(q) @ elu1(k).transpose(-1, -2), mask)
    return (w / w.sum(-1, keepdim=True)) @ v


def v_linear_relu(q, k, v, mask):  # unscaled relu features
    w = masked(F.relu(q) @ F.relu(k).transpose(-1, -2), mask)
    return (w / (w.sum(-1, keepdim=True) + 1e-8)) @ v


def v_linear_cosine(q, k, v, mask):  # cosine similarity, no denominator
    w = masked(F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-1, -2), mask)
    return w @ v


def v_softpick(q, k, v, mask):
    s = scores(q, k).masked_fill(~mask, float("-inf"))
    m = s.amax(-1, keepdim=True)
    x = masked((s - m).exp() - (-m).exp(), mask)
    return (F.relu(x) / (x.abs().sum(-1, keepdim=True) + 1e-6)) @ v


def v_softmax_sink(q, k, v, mask, sink=None):  # gpt-oss: a learnable logit per head joins the denominator
    H = q.shape[1]
    b = learnable(torch.zeros(1, H, 1, 1, dtype=q.dtype)) if sink is None else sink
    s = scores(q, k).masked_fill(~mask, float("-inf"))
    m = torch.maximum(s.amax(-1, keepdim=True), b)
    e = (s - m).exp()
    return (e / (e.sum(-1, keepdim=True) + (b - m).exp())) @ v


def v_gated_attention(q, k, v, mask, g_out=None):  # Qwen G1: elementwise sigmoid gate on the SDPA output
    g = learnable(torch.full_like(q, 1 / (1 + math.exp(-0.3)))) if g_out is None else g_out
    return g * v_softmax(q, k, v, mask)


def v_gated_attention_headwise(q, k, v, mask, g_out=None):  # G1 with one gate value per head and row
    return head_gate(q, 0.57, g_out) * v_softmax(q, k, v, mask)


def v_sigmoid_bias(q, k, v, mask):  # σ(s − log S): Ramapuram et al.'s one bias for every row
    return masked(torch.sigmoid(scores(q, k) - math.log(k.shape[-2])), mask) @ v


def v_sigmoid_bias_per_row(q, k, v, mask):  # σ(s − log n_i)
    n = count(mask).to(q.dtype)
    return masked(torch.sigmoid(scores(q, k) - n.log()), mask) @ v


def v_elu(q, k, v, mask):
    return masked(elu1(scores(q, k)), mask) @ v


def v_elu_norm(q, k, v, mask):
    w = masked(elu1(scores(q, k)), mask)
    return (w / (w.sum(-1, keepdim=True) + 1e-8)) @ v


def v_kernel_linear(q, k, v, mask):  # the scores themselves as weights
    return masked(scores(q, k), mask) @ v


def v_kernel_linear_norm(q, k, v, mask):
    w = masked(scores(q, k), mask)
    return (w / w.sum(-1, keepdim=True).abs().clamp(min=1)) @ v


def v_kernel_elu(q, k, v, mask):
    return masked(elu1(q) @ elu1(k).transpose(-1, -2) / math.sqrt(q.shape[-1]), mask) @ v


def v_kernel_elu_norm(q, k, v, mask):
    w = masked(elu1(q) @ elu1(k).transpose(-1, -2) / math.sqrt(q.shape[-1]), mask)
    return (w / (w.sum(-1, keepdim=True) + 1e-8)) @ v


_MLP = {}


def mlp_phi(x, weights=None):  # shared 2-layer ReLU MLP d→d→d, no bias; fixed-seed learnable weights per (D, dtype)
    D = x.shape[-1]
    if weights is None:
        if (D, x.dtype) not in _MLP:
            g = torch.Generator().manual_seed(1)
            _MLP[D, x.dtype] = tuple(learnable((torch.randn(D, D, generator=g) / math.sqrt(D)).to(x.dtype))
                                     for _ in range(2))
        weights = _MLP[D, x.dtype]
    w1, w2 = weights
    return F.relu(x @ w1.T) @ w2.T


def v_kernel_mlp(q, k, v, mask, mlp=None):
    return masked(mlp_phi(q, mlp) @ mlp_phi(k, mlp).transpose(-1, -2) / math.sqrt(q.shape[-1]), mask) @ v


def v_kernel_mlp_norm(q, k, v, mask, mlp=None):  # ÷ max(|Σ|, 1)
    w = masked(mlp_phi(q, mlp) @ mlp_phi(k, mlp).transpose(-1, -2) / math.sqrt(q.shape[-1]), mask)
    return (w / w.sum(-1, keepdim=True).abs().clamp(min=1)) @ v


# Every registered name, in registry order (docs/VARIANTS.md). Names that share one instantiation share a twin,
# except where the paper writes the same forward differently (divS_gatev2, out_gate_L2norm).
VARIANTS = {
    "softmax": v_softmax,
    "softmax_clamp_denom": v_clamp_denom,
    "softmax_detach_denom": v_detach_denom,
    "softmax_detach_denom_gate": v_detach_denom_gate,
    "softmax_divs": v_divs,
    "softmax_gate": v_softmax_gate,
    "softmax_divS_gate": v_divs_gate,
    "softmax_divS_gatev2": v_divs_gatev2,
    "softmax_divS_norm": v_divs_rmsnorm,
    "softmax_taylor_80terms": v_taylor,
    "softmax_taylor_80terms_unnormalized": v_taylor_unnormalized,
    "gated_softmax": v_gated_softmax,
    "gated_softmax_no_norm": v_gated_softmax_no_norm,
    "gated_softmax_no_in_gate": v_gated_softmax_no_in_gate,
    "gated_softmax_no_out_gate": v_gated_softmax_no_out_gate,
    "gated_softmax_no_out_gate_no_norm": v_gated_softmax_no_out_gate_no_norm,
    "gated_softmax_no_in_gate_no_norm": v_divs_gate,
    "gated_relu_no_in_gate_no_norm": v_gated_relu,
    "gated_softmax_no_gate": v_gated_softmax_no_gate,
    "gated_softmax_no_gate_rmsnorm": v_divs_rmsnorm,
    "gated_softmax_no_gate_L2norm_nodivS": v_l2_clamp,
    "gated_softmax_no_gate_L2norm_nodivS_noclamp": v_l2,
    "gated_ReLU_no_gate_L2norm_nodivS_noclamp": v_relu_l2,
    "gated_softmax_out_gate_L2norm_nodivS_noclamp": v_out_gate_l2,
    "gated_softmax_post_out_gate_L2norm_nodivS_noclamp": v_post_out_gate_l2,
    "gated_softmax_no_gate_rmsnorm_nodivS": v_rmsnorm_nodivs,
    "gated_softmax_no_gate_no_norm": v_divs,
    "linear_elu": v_linear_elu,
    "linear_relu": v_linear_relu,
    "linear_cosine": v_linear_cosine,
    "sigmoid": v_sigmoid,
    "sigmoid_norm": v_sigmoid_norm,
    "elu": v_elu,
    "elu_norm": v_elu_norm,
    "kernel_linear": v_kernel_linear,
    "kernel_linear_norm": v_kernel_linear_norm,
    "kernel_elu": v_kernel_elu,
    "kernel_elu_norm": v_kernel_elu_norm,
    "kernel_mlp": v_kernel_mlp,
    "kernel_mlp_norm": v_kernel_mlp_norm,
    "softmax1": v_softmax1,
    "softmax_sink": v_softmax_sink,
    "gated_attention": v_gated_attention,
    "gated_attention_headwise": v_gated_attention_headwise,
    "sigmoid_bias": v_sigmoid_bias,
    "sigmoid_bias_per_row": v_sigmoid_bias_per_row,
    "softpick": v_softpick,
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
    ap.add_argument("--only", nargs="*", metavar="NAME[,NAME...]", help="variant names to run (default: all)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads or os.cpu_count())
    twins = set(VARIANTS)
    if args.only:
        only = {n for a in args.only for n in a.split(",") if n}
        if only - set(VARIANTS):
            ap.error(f"no twin named {', '.join(sorted(only - set(VARIANTS)))}; known: {', '.join(VARIANTS)}")
        for name in list(VARIANTS):
            if name not in only:
                del VARIANTS[name]
    if hasattr(F, "scaled_dot_product_attention") and "softmax" in VARIANTS:
        VARIANTS["softmax(sdpa)"] = v_sdpa
    ours = {}
    if args.ours:
        for b in json.load(open(args.ours))["benchmarks"]:
            ours[b["name"].replace("/real_time", "")] = b["real_time"] * {"ms": 1e-3, "us": 1e-6, "ns": 1e-9, "s": 1}[b["time_unit"]]
        # a variant registered after this file was last updated shows up here rather than silently missing a row
        untwinned = sorted({n.split("/")[1] for n in ours if n.startswith("fwd/")} - twins)
        if untwinned:
            print(f"no PyTorch twin for: {', '.join(untwinned)}", file=sys.stderr)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, OpenBLAS kernels {openblas_coretype() or 'auto'}, "
          f"SGEMM n=2048: {sgemm_ceiling():.1f} GFLOP/s")
    print(f"{'pass':8} {'variant':50} {'shape':12} {'torch ms':>9} {'GFLOP/s':>8} {'ours ms':>8} {'GFLOP/s':>8} {'ours/torch':>10}")
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
                print(f"{pass_:8} {name:50} {f'S{S} D{D}':12} {t * 1e3:9.1f} {flops / t * 1e-9:8.1f} {ours_s}")


if __name__ == "__main__":
    main()
