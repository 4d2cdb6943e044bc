#!/usr/bin/python3
"""The models of bench_train in PyTorch on the CPU (eager, float32), timed the same way: one step = forward, backward,
clip_grad_norm_(1.0), AdamW. Prints tokens/s per shape and, given bench_train's JSON, the ratio table.

    ./build/release/bench/train/bench_train --benchmark_out=ours.json --benchmark_out_format=json
    /usr/bin/python3 bench/train/train_torch.py --ours ours.json

The model matches sinklab's LlamaModel: token embedding, pre-RMSNorm (eps 1e-5), RoPE (base 10000, rotate-half),
causal softmax attention, SwiGLU, untied output head, no biases.
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
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

SHAPES = {  # name: vocab, d_model, layers, heads, d_ff, batch, seq (as bench_train.cpp)
    "tiny": (258, 128, 4, 4, 384, 16, 64),
    "60m": (50432, 768, 10, 8, 1536, 1, 512),
}


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.w, self.eps = nn.Parameter(torch.ones(d)), eps

    def forward(self, x):
        return self.w * x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)


def rope(x, base=10000.0):  # x (B, H, S, Dh), rotate-half layout
    S, Dh = x.shape[-2], x.shape[-1]
    inv = base ** (-torch.arange(0, Dh, 2, dtype=torch.float32) / Dh)
    ang = torch.arange(S, dtype=torch.float32)[:, None] * inv[None, :]
    cos, sin = torch.cat([ang.cos()] * 2, -1), torch.cat([ang.sin()] * 2, -1)
    x1, x2 = x[..., : Dh // 2], x[..., Dh // 2:]
    return x * cos + torch.cat([-x2, x1], -1) * sin


class Block(nn.Module):
    def __init__(self, d, h, ff):
        super().__init__()
        self.h = h
        self.n1, self.n2 = RMSNorm(d), RMSNorm(d)
        self.q, self.k, self.v, self.o = (nn.Linear(d, d, bias=False) for _ in range(4))
        self.w1, self.w3 = nn.Linear(d, ff, bias=False), nn.Linear(d, ff, bias=False)
        self.w2 = nn.Linear(ff, d, bias=False)

    def forward(self, x, mask):
        B, S, d = x.shape
        y = self.n1(x)
        split = lambda t: t.view(B, S, self.h, d // self.h).transpose(1, 2)
        q, k, v = rope(split(self.q(y))), rope(split(self.k(y))), split(self.v(y))
        s = (q @ k.transpose(-1, -2)) / math.sqrt(d // self.h)
        a = torch.softmax(s.masked_fill(~mask, float("-inf")), -1) @ v
        x = x + self.o(a.transpose(1, 2).reshape(B, S, d))
        y = self.n2(x)
        return x + self.w2(F.silu(self.w1(y)) * self.w3(y))


class Llama(nn.Module):
    def __init__(self, vocab, d, layers, h, ff):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.blocks = nn.ModuleList(Block(d, h, ff) for _ in range(layers))
        self.norm, self.head = RMSNorm(d), nn.Linear(d, vocab, bias=False)

    def forward(self, ids, targets):
        S = ids.shape[1]
        mask = torch.ones(S, S, dtype=torch.bool).tril()
        x = self.emb(ids)
        for b in self.blocks:
            x = b(x, mask)
        logits = self.head(self.norm(x))
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1))


def bench(name, min_time=3.0):
    vocab, d, layers, h, ff, batch, seq = SHAPES[name]
    torch.manual_seed(0)
    model = Llama(vocab, d, layers, h, ff)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    n = batch * seq
    ids = (torch.arange(n) * 7919 % vocab).view(batch, seq)
    tg = ((torch.arange(n) * 104729 + 1) % vocab).view(batch, seq)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = model(ids, tg)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    step()  # warm-up
    steps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < min_time or steps < 2:
        step()
        steps += 1
    dt = (time.perf_counter() - t0) / steps
    N = sum(p.numel() for p in model.parameters())
    flops = 6.0 * N + 6.0 * layers * seq * d
    return {"tokens_per_s": n / dt, "GFLOP/s": n * flops / dt * 1e-9, "params_M": N * 1e-6}



def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ours", help="bench_train --benchmark_out JSON, for the ratio column")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads or os.cpu_count())
    ours = {}
    if args.ours:
        for b in json.load(open(args.ours))["benchmarks"]:
            ours[b.get("label", "")] = b
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, OpenBLAS kernels {openblas_coretype() or 'auto'}, "
          f"SGEMM n=2048: {sgemm_ceiling():.1f} GFLOP/s")
    print(f"{'shape':6} {'params':>8} {'torch tok/s':>12} {'torch GFLOP/s':>14} {'sinklab tok/s':>14} {'ratio':>6}")
    for name in SHAPES:
        r = bench(name)
        o = ours.get(name)
        mine = o["tokens_per_s"] if o else float("nan")
        print(f"{name:6} {r['params_M']:7.1f}M {r['tokens_per_s']:12.0f} {r['GFLOP/s']:14.1f} {mine:14.0f} "
              f"{mine / r['tokens_per_s']:6.2f}")


if __name__ == "__main__":
    main()
