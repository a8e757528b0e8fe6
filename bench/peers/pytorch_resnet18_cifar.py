#!/usr/bin/env python3
"""Peer of `resnet18_steps`: PyTorch on the CPU trains ResNet-18 for CIFAR-10 (Models.resnet18Cifar: a 3x3 stem of
64 channels with BatchNorm and ReLU, no max pool, four stages of two BasicBlocks with 64, 128, 256, 512 channels and
strides 1, 2, 2, 2, 1x1 conv + BatchNorm shortcuts where the shape changes, global average pool, linear 512->10) with
Adam 1e-3 at batch 32 on random inputs in [0, 1) and random labels: warm-up 2 steps, then --steps timed steps.

Run:   /usr/bin/python3 bench/peers/pytorch_resnet18_cifar.py --threads 2 [--steps 8]
Prints one JSON line with the median step (wall and process CPU seconds) and the epoch (50,000 images)
extrapolated from it, the same fields as ours.
"""
import argparse, json, os, resource, statistics, time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as pytorch_mnist.py: its fastest setting on 2 cores

import torch
import torch.nn as nn
import torch.nn.functional as F


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))
                         if stride != 1 or cin != cout else nn.Identity())

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


def resnet18_cifar(classes=10):
    layers = [nn.Conv2d(3, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU()]
    cin = 64
    for cout, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
        layers += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout)]
        cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, classes)]
    return nn.Sequential(*layers)


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--batch", type=int, default=32)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = resnet18_cifar()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(a.batch, 3, 32, 32)
    y = torch.randint(0, 10, (a.batch,))
    model.train()

    def step():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    for _ in range(2):
        step()
    wall, cpu = [], []
    for _ in range(a.steps):
        c0, t0 = cpu_seconds(), time.perf_counter()
        step()
        wall.append(time.perf_counter() - t0)
        cpu.append(cpu_seconds() - c0)
    step_s = statistics.median(wall)
    epoch_steps = (50000 + a.batch - 1) // a.batch
    print(json.dumps({
        "bench": "resnet18_steps", "peer": "pytorch", "torch": torch.__version__, "threads": a.threads,
        "batch": a.batch, "steps": a.steps, "step_s_median": round(step_s, 3),
        "cpu_s_per_step_median": round(statistics.median(cpu), 3),
        "epoch_seconds_extrapolated": round(step_s * epoch_steps),
        "load_average_1m": float(open("/proc/loadavg").read().split()[0])}))


if __name__ == "__main__":
    main()
