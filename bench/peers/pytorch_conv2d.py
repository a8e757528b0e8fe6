#!/usr/bin/env python3
"""PyTorch peer for `FunctionalNets.Bench -- conv2d`: the 3x3 convolutions of ResNet-18 on CIFAR-10 at batch 32,
padding 1, no bias, float32; forward alone and forward + backward (gradients of sum(y * r) with respect to the input
and the weight). Timed as ConvBench.fs: best mean of 5 rounds after a warm-up of at least 0.5 s.

Run: /usr/bin/python3 bench/peers/pytorch_conv2d.py --threads 2
"""
import argparse, json, os, time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as ../shared/bench/pytorch_mnist.py: PyTorch's best setting here

import torch
import torch.nn.functional as F

SHAPES = [  # input channels, output channels, input size, stride (the list in ConvBench.fs)
    (3, 64, 32, 1), (64, 64, 32, 1), (64, 128, 32, 2), (128, 128, 16, 1),
    (128, 256, 16, 2), (256, 256, 8, 1), (256, 512, 8, 2), (512, 512, 4, 1),
]
BATCH = 32


def best_of(fn, reps, rounds=5):
    t0 = time.perf_counter()
    fn()
    while time.perf_counter() - t0 < 0.5:
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
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    for cin, cout, size, stride in SHAPES:
        x = torch.randn(BATCH, cin, size, size, requires_grad=True)
        w = (torch.randn(cout, cin, 3, 3) / (cin * 9) ** 0.5).requires_grad_()
        out = (size + 2 - 3) // stride + 1
        r = torch.randn(BATCH, cout, out, out)

        def forward():
            with torch.no_grad():
                F.conv2d(x, w, stride=stride, padding=1)

        def both():
            x.grad = None
            w.grad = None
            (F.conv2d(x, w, stride=stride, padding=1) * r).sum().backward()

        fwd = best_of(forward, 3)
        fb = best_of(both, 2)
        flop = 2.0 * BATCH * cout * out * out * cin * 9
        print(json.dumps({
            "peer": f"pytorch {torch.__version__}", "bench": "conv2d",
            "shape": f"{BATCH}x{cin}x{size}x{size}->{cout} s{stride}",
            "forward_ms": round(fwd * 1e3, 3), "forward_backward_ms": round(fb * 1e3, 3),
            "forward_gflops": round(flop / fwd / 1e9, 1), "forward_backward_gflops": round(3 * flop / fb / 1e9, 1),
        }))


if __name__ == "__main__":
    main()
