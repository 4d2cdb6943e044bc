"""Shared by the PyTorch comparison scripts in bench/: the machine's SGEMM ceiling as PyTorch measures it."""
import time

import torch


def sgemm_ceiling(n=2048, reps=3):
    """PyTorch's SGEMM (Debian: OpenBLAS) at n x n x n, GFLOP/s: the machine's measured ceiling for bench/README."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ b
    return reps * 2.0 * n ** 3 / (time.perf_counter() - t0) * 1e-9
