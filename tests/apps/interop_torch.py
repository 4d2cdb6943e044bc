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
    """Eager float64 PyTorch from the definition of each variant (DESIGN §3.1)."""
    q, k, v = t["q"], t["k"], t["v"]
    H, Hkv, D = q.shape[1], k.shape[1], q.shape[3]
    k = k.repeat_interleave(H // Hkv, dim=1)
    v = v.repeat_interleave(H // Hkv, dim=1)
    s = q @ k.transpose(-1, -2) / math.sqrt(D)
    n = vis.sum(-1, keepdim=True).to(s.dtype)  # visible keys per row
    zero = torch.zeros((), dtype=s.dtype)
    if name == "softmax":
        return torch.softmax(s.masked_fill(~vis, -math.inf), -1) @ v
    if name == "sigmoid":
        return torch.where(vis, torch.sigmoid(s), zero) @ v
    if name == "softmax_divs":
        return torch.where(vis, torch.exp(s.clamp(max=5.0)), zero) @ v / n
    if name == "softmax1":
        w = torch.where(vis, torch.exp(s), zero)
        return w @ v / (1.0 + w.sum(-1, keepdim=True))
    if name == "softmax_sink":
        w = torch.where(vis, torch.exp(s), zero)
        return w @ v / (torch.exp(t["sink"]).view(1, H, 1, 1) + w.sum(-1, keepdim=True))
    if name == "gated_attention":  # Qwen G1: elementwise gate after SDPA
        return t["g_out"] * (torch.softmax(s.masked_fill(~vis, -math.inf), -1) @ v)
    if name == "softmax_divS_gate":  # headwise gate per row
        return t["g_out"].unsqueeze(-1) * (torch.where(vis, torch.exp(s.clamp(max=5.0)), zero) @ v / n)
    if name == "gated_softmax_no_out_gate_no_norm":  # input gate scales v_j
        return torch.where(vis, torch.exp(s.clamp(max=5.0)), zero) @ (t["g_in"].unsqueeze(-1) * v) / n
    if name == "gated_softmax_no_gate_L2norm_nodivS_noclamp":  # L2(exp(s) V)
        u = torch.where(vis, torch.exp(s), zero) @ v
        return u / u.norm(dim=-1, keepdim=True)
    if name == "softmax+kv_slot":  # sink-paper KV bias: a learnable key/value slot visible to every row
        ks = t["k_slot"].view(1, H, 1, D).expand(q.shape[0], H, 1, D)
        vs = t["v_slot"].view(1, H, 1, D).expand(q.shape[0], H, 1, D)
        s_slot = (q * ks).sum(-1, keepdim=True) / math.sqrt(D)
        logits = torch.cat([s_slot, s.masked_fill(~vis, -math.inf)], -1)
        return torch.softmax(logits, -1) @ torch.cat([vs, v], -2)
    raise KeyError(name)


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
    cases = [
        ("softmax", "causal", {}), ("softmax", "sliding", {"window": 5}), ("softmax", "prefix", {"prefix": 4}),
        ("softmax", "full", {}), ("sigmoid", "causal", {}), ("softmax_divs", "sliding", {"window": 7}),
        ("softmax1", "causal", {}), ("softmax_sink", "causal", {}), ("gated_attention", "causal", {}),
        ("softmax_divS_gate", "causal", {}), ("gated_softmax_no_out_gate_no_norm", "prefix", {"prefix": 3}),
        ("gated_softmax_no_gate_L2norm_nodivS_noclamp", "causal", {}), ("softmax+kv_slot", "causal", {}),
    ]
    with tempfile.TemporaryDirectory() as wd:
        for name, mask, opt in cases:
            t = {"q": torch.randn(B, H, S, D), "k": torch.randn(B, Hkv, S, D), "v": torch.randn(B, Hkv, S, D),
                 "dout": torch.randn(B, H, S, D)}
            if name == "softmax_sink":
                t["sink"] = torch.randn(H)
            if name == "gated_attention":
                t["g_out"] = torch.rand(B, H, S, D) * 0.8 + 0.1
            if name == "softmax_divS_gate":
                t["g_out"] = torch.rand(B, H, S) * 0.8 + 0.1
            if name == "gated_softmax_no_out_gate_no_norm":
                t["g_in"] = torch.rand(B, H, S) * 0.8 + 0.1
            if name == "softmax+kv_slot":
                t["k_slot"], t["v_slot"] = torch.randn(H, D), torch.randn(H, D)
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
            # In g_in the command takes (B,H,S) gates for query heads; with grouped heads every head of a group sees
            # its own gated copy of v, as the module computes it.
            leaves = {n: x.to(torch.float64).requires_grad_(True) for n, x in t.items() if n != "dout"}
            o = attend(name, leaves, visible(S, mask, opt.get("window", 0), opt.get("prefix", 0)))
            o.backward(t["dout"].to(torch.float64))
            worst = (o.detach() - got["o"].double()).abs().max().item() / max(o.detach().abs().max().item(), 1e-30)
            for n, x in leaves.items():
                g = got.get("d" + n)
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
