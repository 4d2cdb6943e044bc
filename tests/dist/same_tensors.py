#!/usr/bin/env python3
"""same_tensors.py A B: exit 0 when two safetensors files hold the same tensor names with the same dtype, shape and
bytes (bit for bit; the metadata is not compared), else print the first differences and exit 1."""
import json
import struct
import sys


def tensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    header.pop("__metadata__", None)
    return {k: (v["dtype"], v["shape"], data[v["data_offsets"][0]:v["data_offsets"][1]]) for k, v in header.items()}


a, b = tensors(sys.argv[1]), tensors(sys.argv[2])
bad = [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
for k in bad[:5]:
    print(f"differs: {k}" + ("" if k in a and k in b else " (missing in one)"))
print(f"{len(a)} tensors, {len(bad)} differ")
sys.exit(1 if bad else 0)
