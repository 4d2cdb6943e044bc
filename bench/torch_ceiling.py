"""Shared by the PyTorch comparison scripts in bench/: the machine's SGEMM ceiling as PyTorch measures it, and the
OpenBLAS kernel choice that makes the comparison fair. Import this module before torch."""
import os
import time


def _openblas_coretype():
    """OpenBLAS 0.3.21 picks its kernels from the CPUID model number; on a VM that reports a generic "Intel Xeon
    Processor" it falls back to Prescott (SSE3) and runs SGEMM at a fifth of the machine's speed (measured: 36 vs
    190 GFLOP/s on 2 cores). Name the kernel family from the instruction set instead, unless the user already did."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return None
    if "avx512_bf16" in flags:
        return "Cooperlake"
    if "avx512f" in flags and "avx512vl" in flags:
        return "SkylakeX"
    if "avx2" in flags and "fma" in flags:
        return "Haswell"
    return None


if "OPENBLAS_CORETYPE" not in os.environ and _openblas_coretype():
    os.environ["OPENBLAS_CORETYPE"] = _openblas_coretype()

import torch  # noqa: E402  (after OPENBLAS_CORETYPE: OpenBLAS reads it when torch loads it)


def openblas_coretype():
    """The OpenBLAS kernel family in use when set through OPENBLAS_CORETYPE (None: OpenBLAS's own detection)."""
    return os.environ.get("OPENBLAS_CORETYPE")


def sgemm_ceiling(n=2048, reps=3):
    """PyTorch's SGEMM (Debian: OpenBLAS) at n x n x n, GFLOP/s: the machine's measured ceiling for bench/README."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ b
    return reps * 2.0 * n ** 3 / (time.perf_counter() - t0) * 1e-9
