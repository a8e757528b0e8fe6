#!/usr/bin/env python3
"""PyTorch peer for the sgemm_shape lines of `FunctionalNets.Bench -- sgemm` (the MLP's skinny products).

Timed like /work/shared/bench/pytorch_ops.py: best of 5 rounds of reps = max(1, 2e9 // (2 m n k)) calls.
Transposed operands are views, so torch.mm hands them to BLAS as transposes without copying, as our Sgemm does.
Run: /usr/bin/python3 bench/peers/pytorch_gemm_shapes.py --threads 2
"""
import argparse, json, time
import torch

SHAPES = [  # transA, transB, m, n, k
    (False, True, 64, 512, 784), (False, True, 128, 512, 784), (False, True, 64, 256, 512),
    (True, False, 512, 784, 64), (True, False, 256, 512, 64),
    (False, False, 64, 512, 256), (False, False, 128, 512, 256),
]


def best_of(fn, reps, rounds=5):
    fn()
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(reps):
            fn()
        best = min(best, (time.perf_counter() - t) / reps)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    for ta, tb, m, n, k in SHAPES:
        a = torch.randn(k, m).t() if ta else torch.randn(m, k)
        b = torch.randn(n, k).t() if tb else torch.randn(k, n)
        reps = max(1, int(2e9 // (2 * m * n * k)))
        dt = best_of(lambda: torch.mm(a, b), reps)
        print(json.dumps({"op": "sgemm_shape", "m": m, "n": n, "k": k, "transA": ta, "transB": tb,
                          "gflops": round(2 * m * n * k / dt / 1e9, 1), "peer": f"pytorch {torch.__version__}"}))


if __name__ == "__main__":
    main()
