#!/usr/bin/python3
"""`sinklab-probe attention` against PyTorch autograd: the check a user runs on their own PyTorch code.

For a set of variants and masks this writes q, k, v, dout (and the variant's gates, sink logits, slots) to a
safetensors file, runs the command, and compares o and every returned gradient with eager PyTorch written from the
papers' definitions (materialised S x S weights, float64). It also checks that bad input is refused with an error
that names the tensor at fault.

    /usr/bin/python3 tests/apps/interop_torch.py PATH/TO/sinklab-probe

Prints 'N passed, N failed' and exits non-zero on any failure. Exits 0 with a 'skipped' line when torch is absent.
"""
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as e:  # the dependency script installs both; say so rather than fail obscurely
    print(f"skipped: {e} (install python3-torch and python3-numpy)")
    sys.exit(0)

torch.manual_seed(0)


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        a = np.ascontiguousarray(t.detach().to(torch.float32).numpy())
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        assert e["dtype"] == "F32", e
        a, b = e["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[8 + n + a:8 + n + b], dtype=np.float32).reshape(e["shape"]).copy())
    return out


def visible(S, mask, window=0, prefix=0):
    i = torch.arange(S).view(S, 1)
    j = torch.arange(S).view(1, S)
    if mask == "causal":
        return j <= i
    if mask == "sliding":  # query i sees keys i-w+1 .. i
        return (j <= i) & (j > i - window)
    if mask == "prefix":  # the first p keys are visible to every query
        return (j <= i) | (j < prefix)
    return torch.ones(S, S, dtype=torch.bool)


def attend(name, t, vis):
    """Eager float64 PyTorch from the definition of each variant (DESIGN §3.1), written independently of sinklab."""
    q, k, v = t["q"], t["k"], t["v"]
    H, Hkv, D = q.shape[1], k.shape[1], q.shape[3]
    k = k.repeat_interleave(H // Hkv, dim=1)
    v = v.repeat_interleave(H // Hkv, dim=1)
    rd = 1.0 / math.sqrt(D)
    s = q @ k.transpose(-1, -2) * rd
    n = vis.sum(-1, keepdim=True).to(s.dtype)  # visible keys per row
    zero = torch.zeros((), dtype=s.dtype)
    keep = lambda w: torch.where(vis, w, zero)  # noqa: E731
    cexp = keep(torch.exp(s.clamp(max=5.0)))  # the RNN paper's exp(min(s, 5))
    g_out = lambda: t["g_out"] if t["g_out"].dim() == 4 else t["g_out"].unsqueeze(-1)  # noqa: E731
    rms = lambda y: t["norm_weight"] * y / torch.sqrt(y.pow(2).mean(-1, keepdim=True) + 2.0 ** -23)  # noqa: E731
    ln = lambda y: F.layer_norm(y, (D,), t["norm_weight"], t["norm_bias"], 1e-5)  # noqa: E731
    elu1 = lambda x: F.elu(x) + 1  # noqa: E731
    mlp = lambda x: F.relu(x @ t["mlp_w1"].T) @ t["mlp_w2"].T  # noqa: E731
    l2n = lambda x: x / x.norm(dim=-1, keepdim=True)  # noqa: E731
    softmax = lambda: torch.softmax(s.masked_fill(~vis, -math.inf), -1) @ v  # noqa: E731
    if name == "softmax":
        return softmax()
    if name == "softmax_clamp_denom":
        return cexp @ v / cexp.sum(-1, keepdim=True).clamp(min=1.0)
    if name == "softmax_detach_denom":  # same forward; the denominator is a constant in backward
        return cexp @ v / cexp.sum(-1, keepdim=True).clamp(min=1.0).detach()
    if name == "softmax_detach_denom_gate":
        return g_out() * (cexp @ v / (cexp.sum(-1, keepdim=True) + 1e-4).detach())
    if name == "softmax_gate":
        return g_out() * (cexp @ v)
    if name == "softmax_divs":
        return cexp @ v / n
    if name == "softmax_divS_gate":  # headwise gate per row
        return g_out() * (cexp @ v / n)
    if name == "softmax_divS_norm":
        return rms(cexp @ v / n)
    if name == "softmax_taylor_80terms":
        w, term = torch.ones_like(s), torch.ones_like(s)
        for i in range(1, 80):
            term = term * s / i
            w = w + term
        w = keep(w)
        return w @ v / w.sum(-1, keepdim=True)
    if name == "gated_softmax":  # in gate on v, ÷ n, out gate before LayerNorm
        return ln(g_out() * (cexp @ (t["g_in"].unsqueeze(-1) * v) / n))
    if name == "gated_softmax_no_out_gate_no_norm":  # input gate scales v_j
        return cexp @ (t["g_in"].unsqueeze(-1) * v) / n
    if name == "gated_relu_no_in_gate_no_norm":
        kap = keep((F.relu(q) @ F.relu(k).transpose(-1, -2) * rd).clamp(max=5.0))
        return g_out() * (kap @ v / n)
    if name == "gated_softmax_no_gate_rmsnorm_nodivS":
        return rms(cexp @ v)
    if name == "gated_softmax_no_gate_L2norm_nodivS_noclamp":  # L2(exp(s) V)
        return l2n(keep(torch.exp(s)) @ v)
    if name == "gated_softmax_post_out_gate_L2norm_nodivS_noclamp":
        return g_out() * l2n(keep(torch.exp(s)) @ v)
    if name == "linear_elu":
        w = keep(elu1(q) @ elu1(k).transpose(-1, -2))
        return w @ v / w.sum(-1, keepdim=True)
    if name == "linear_relu":
        w = keep(F.relu(q) @ F.relu(k).transpose(-1, -2))
        return w @ v / (w.sum(-1, keepdim=True) + 1e-8)
    if name == "linear_cosine":
        return keep(l2n(q) @ l2n(k).transpose(-1, -2)) @ v
    if name == "sigmoid":
        return keep(torch.sigmoid(s)) @ v
    if name == "sigmoid_norm":
        w = keep(torch.sigmoid(s))
        return w @ v / (w.sum(-1, keepdim=True) + 1e-8)
    if name == "sigmoid_bias":  # Ramapuram et al.: σ(s − log S), one bias for every row whatever the mask
        return keep(torch.sigmoid(s - math.log(s.shape[-1]))) @ v
    if name == "sigmoid_bias_per_row":  # σ(s − log n_i)
        return keep(torch.sigmoid(s - n.log())) @ v
    if name == "elu":
        return keep(elu1(s)) @ v
    if name == "elu_norm":
        w = keep(elu1(s))
        return w @ v / (w.sum(-1, keepdim=True) + 1e-8)
    if name == "kernel_linear":
        return keep(s) @ v
    if name == "kernel_linear_norm":
        w = keep(s)
        return w @ v / w.sum(-1, keepdim=True).abs().clamp(min=1.0)
    if name == "kernel_elu_norm":
        w = keep(elu1(q) @ elu1(k).transpose(-1, -2) * rd)
        return w @ v / (w.sum(-1, keepdim=True) + 1e-8)
    if name == "kernel_mlp_norm":
        w = keep(mlp(q) @ mlp(k).transpose(-1, -2) * rd)
        return w @ v / w.sum(-1, keepdim=True).abs().clamp(min=1.0)
    if name == "softpick":  # relu(e^s − 1) / (Σ|e^s − 1| + 1e-6)
        x = keep(torch.exp(s) - 1)
        return F.relu(x) @ v / (x.abs().sum(-1, keepdim=True) + 1e-6)
    if name == "softmax1":
        w = keep(torch.exp(s))
        return w @ v / (1.0 + w.sum(-1, keepdim=True))
    if name == "softmax_sink":
        w = keep(torch.exp(s))
        return w @ v / (torch.exp(t["sink"]).view(1, H, 1, 1) + w.sum(-1, keepdim=True))
    if name in ("gated_attention", "gated_attention_headwise"):  # Qwen G1: gate after SDPA
        return g_out() * softmax()
    if name == "softmax+kv_slot":  # sink-paper KV bias: a learnable key/value slot visible to every row
        ks = t["k_slot"].view(1, H, 1, D).expand(q.shape[0], H, 1, D)
        vs = t["v_slot"].view(1, H, 1, D).expand(q.shape[0], H, 1, D)
        s_slot = (q * ks).sum(-1, keepdim=True) * rd
        logits = torch.cat([s_slot, s.masked_fill(~vis, -math.inf)], -1)
        return torch.softmax(logits, -1) @ torch.cat([vs, v], -2)
    raise KeyError(name)


# Which optional tensors each variant takes (the command refuses the rest). g_out: "h" headwise, "e" elementwise.
NEEDS = {
    "softmax_detach_denom_gate": {"g_out": "h"}, "softmax_gate": {"g_out": "h"}, "softmax_divS_gate": {"g_out": "h"},
    "softmax_divS_norm": {"norm_weight": 1}, "gated_softmax": {"g_in": 1, "g_out": "h", "norm_weight": 1, "norm_bias": 1},
    "gated_softmax_no_out_gate_no_norm": {"g_in": 1}, "gated_relu_no_in_gate_no_norm": {"g_out": "h"},
    "gated_softmax_no_gate_rmsnorm_nodivS": {"norm_weight": 1},
    "gated_softmax_post_out_gate_L2norm_nodivS_noclamp": {"g_out": "h"}, "kernel_mlp_norm": {"mlp_w1": 1, "mlp_w2": 1},
    "softmax_sink": {"sink": 1}, "gated_attention": {"g_out": "e"}, "gated_attention_headwise": {"g_out": "h"},
    "softmax+kv_slot": {"k_slot": 1, "v_slot": 1},
}


def inputs_for(name, B, H, Hkv, S, D):
    t = {"q": torch.randn(B, H, S, D), "k": torch.randn(B, Hkv, S, D), "v": torch.randn(B, Hkv, S, D),
         "dout": torch.randn(B, H, S, D)}
    for key, kind in NEEDS.get(name, {}).items():
        if key == "g_out":
            t[key] = torch.rand(*((B, H, S, D) if kind == "e" else (B, H, S))) * 0.8 + 0.1
        elif key == "g_in":
            t[key] = torch.rand(B, H, S) * 0.8 + 0.1
        elif key == "norm_weight":
            t[key] = 1.0 + 0.2 * torch.randn(D)
        elif key == "norm_bias":
            t[key] = 0.2 * torch.randn(D)
        elif key == "sink":
            t[key] = torch.randn(H)
        elif key in ("mlp_w1", "mlp_w2"):
            t[key] = torch.randn(D, D) / math.sqrt(D)
        else:  # k_slot, v_slot
            t[key] = torch.randn(H, D)
    return t


def run(probe, args, tensors, workdir):
    inp, out = os.path.join(workdir, "in.safetensors"), os.path.join(workdir, "out.safetensors")
    write_safetensors(inp, tensors)
    if os.path.exists(out):
        os.remove(out)
    r = subprocess.run([probe, "attention", "--input", inp, "--output", out] + args, capture_output=True, text=True)
    return r, (read_safetensors(out) if r.returncode == 0 else None)


def main():
    probe = sys.argv[1]
    passed = failed = 0

    def report(ok, what):
        nonlocal passed, failed
        passed += ok
        failed += not ok
        print(("ok    " if ok else "FAIL  ") + what)

    B, H, Hkv, S, D = 2, 4, 2, 37, 16
    masks = [("causal", {}), ("sliding", {"window": 5}), ("prefix", {"prefix": 4}), ("full", {})]
    names = ["softmax", "softmax_clamp_denom", "softmax_detach_denom", "softmax_detach_denom_gate", "softmax_gate",
             "softmax_divs", "softmax_divS_gate", "softmax_divS_norm", "softmax_taylor_80terms", "gated_softmax",
             "gated_softmax_no_out_gate_no_norm", "gated_relu_no_in_gate_no_norm",
             "gated_softmax_no_gate_rmsnorm_nodivS", "gated_softmax_no_gate_L2norm_nodivS_noclamp",
             "gated_softmax_post_out_gate_L2norm_nodivS_noclamp", "linear_elu", "linear_relu", "linear_cosine",
             "sigmoid", "sigmoid_norm", "sigmoid_bias", "sigmoid_bias_per_row", "elu", "elu_norm", "kernel_linear",
             "kernel_linear_norm", "kernel_elu_norm", "kernel_mlp_norm", "softpick", "softmax1", "softmax_sink",
             "gated_attention", "gated_attention_headwise", "softmax+kv_slot"]
    # every variant under one mask (rotating through the four), and softmax and both sigmoid biases under all of them
    cases = [(nm, *masks[i % len(masks)]) for i, nm in enumerate(names)]
    cases += [(nm, *m) for nm in ("softmax", "sigmoid_bias", "sigmoid_bias_per_row") for m in masks
              if (nm, *m) not in cases]
    with tempfile.TemporaryDirectory() as wd:
        for name, mask, opt in cases:
            t = inputs_for(name, B, H, Hkv, S, D)
            args = ["--variant", name.split("+")[0], "--mask", mask]
            if "window" in opt:
                args += ["--window", str(opt["window"])]
            if "prefix" in opt:
                args += ["--prefix", str(opt["prefix"])]
            r, got = run(probe, args, t, wd)
            what = f"{name} {mask} {opt}"
            if got is None:
                report(False, f"{what}: exit {r.returncode}: {r.stderr.strip()}")
                continue
            # g_in is (B,H,S) for query heads: with grouped heads every head of a group sees its own gated copy of v.
            leaves = {nm: x.to(torch.float64).requires_grad_(True) for nm, x in t.items() if nm != "dout"}
            o = attend(name, leaves, visible(S, mask, opt.get("window", 0), opt.get("prefix", 0)))
            o.backward(t["dout"].to(torch.float64))
            worst = (o.detach() - got["o"].double()).abs().max().item() / max(o.detach().abs().max().item(), 1e-30)
            for nm, x in leaves.items():
                g = got.get("d" + nm)
                if g is None:
                    worst = math.inf
                    continue
                worst = max(worst, (x.grad - g.double()).abs().max().item() / max(x.grad.abs().max().item(), 1e-30))
            report(worst < 2e-4, f"{what}: max relative error {worst:.2e} over o and {len(leaves)} gradients")

        # Bad input is refused with the name of what is wrong, and no output is written.
        base = {"q": torch.randn(1, 2, 8, 16), "k": torch.randn(1, 2, 8, 16), "v": torch.randn(1, 2, 8, 16)}
        bad = [
            ("k with another S", {**base, "k": torch.randn(1, 2, 9, 16), "v": torch.randn(1, 2, 9, 16)},
             ["--variant", "softmax"], "k"),
            ("missing gate", base, ["--variant", "gated_attention"], "g_out"),
            ("headwise gate for an elementwise variant", {**base, "g_out": torch.rand(1, 2, 8)},
             ["--variant", "gated_attention"], "g_out"),
            ("sink for a variant without one", {**base, "sink": torch.randn(2)}, ["--variant", "softmax"], "sink"),
            ("v_slot without k_slot", {**base, "v_slot": torch.randn(2, 16)}, ["--variant", "softmax"], "v_slot"),
            ("unknown variant", base, ["--variant", "sofmax"], "softmax"),
            ("window and prefix", base, ["--variant", "softmax", "--window", "2", "--prefix", "2"], "--prefix"),
        ]
        for what, t, args, needle in bad:
            r, got = run(probe, args, t, wd)
            ok = r.returncode != 0 and got is None and needle in r.stderr
            report(ok, f"refuses {what}: exit {r.returncode}, {r.stderr.strip()!r}")

    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
