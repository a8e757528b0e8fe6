#!/usr/bin/env python3
"""Peer of `cifar_small_epoch`: PyTorch on the CPU trains the same small CIFAR-10 network (Models.cifarSmall:
four conv3x3(no bias)-BatchNorm-ReLU blocks of 32, 64, 128, 256 channels with 2x2 max pools between, global
average pool, linear 256->10) for one epoch with Adam 1e-3, batch 64, inputs in [0, 1] as our loader gives them.

Run:   /usr/bin/python3 bench/peers/pytorch_cifar_small.py --threads 2 [--limit N] [--data PATH]
PATH is the official binary archive (cifar-10-binary.tar.gz), a folder holding it, or a folder holding
cifar-10-batches-bin/ (or the batch files themselves).
Prints one JSON line: train_seconds (the training loop only), train_cpu_seconds (process user + system time over
the same stretch) and test_accuracy.
"""
import argparse, json, os, resource, tarfile, time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as pytorch_mnist.py: its fastest setting on 2 cores

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DATA = os.path.join(HERE, "..", "..", "..", "shared", "datasets", "cifar10-approx", "cifar-10-binary.tar.gz")
RECORD = 1 + 3 * 32 * 32


def read_batches(path, names):
    """The records of the named batch files, from the archive or a folder, as (x float [n,3,32,32] in [0,1], y long)."""
    chunks = []
    archive = os.path.join(path, "cifar-10-binary.tar.gz")
    if os.path.isdir(path) and not os.path.isdir(os.path.join(path, "cifar-10-batches-bin")) and os.path.isfile(archive):
        path = archive
    if os.path.isfile(path):
        with tarfile.open(path, "r:gz") as tar:
            members = {os.path.basename(m.name): m for m in tar.getmembers()}
            for n in names:
                chunks.append(tar.extractfile(members[n]).read())
    else:
        folder = os.path.join(path, "cifar-10-batches-bin") if os.path.isdir(os.path.join(path, "cifar-10-batches-bin")) else path
        for n in names:
            with open(os.path.join(folder, n), "rb") as f:
                chunks.append(f.read())
    raw = np.frombuffer(b"".join(chunks), dtype=np.uint8).reshape(-1, RECORD)
    y = torch.from_numpy(raw[:, 0].astype(np.int64))
    x = torch.from_numpy(raw[:, 1:].astype(np.float32) / 255.0).reshape(-1, 3, 32, 32)
    return x, y


def block(cin, cout):
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


def cifar_small():
    return nn.Sequential(
        *block(3, 32), nn.MaxPool2d(2),
        *block(32, 64), nn.MaxPool2d(2),
        *block(64, 128), nn.MaxPool2d(2),
        *block(128, 256),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(256, 10))


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=0, help="train on the first N examples only")
    ap.add_argument("--data", default=os.environ.get("FUNCTIONALNETS_DATA_CIFAR", DEFAULT_DATA))
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    xtr, ytr = read_batches(a.data, [f"data_batch_{i}.bin" for i in range(1, 6)])
    xte, yte = read_batches(a.data, ["test_batch.bin"])
    if a.limit:
        xtr, ytr = xtr[: a.limit], ytr[: a.limit]
    model = cifar_small()
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    n = xtr.shape[0]
    model.train()
    perm = torch.randperm(n)
    t0, c0 = time.perf_counter(), cpu_seconds()
    for i in range(0, n, a.batch):
        idx = perm[i : i + a.batch]
        loss = F.cross_entropy(model(xtr[idx]), ytr[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    dt, dc = time.perf_counter() - t0, cpu_seconds() - c0
    model.eval()
    with torch.no_grad():
        correct = sum((model(xte[i : i + 1000]).argmax(1) == yte[i : i + 1000]).sum().item()
                      for i in range(0, xte.shape[0], 1000))
    print(json.dumps({"peer": f"pytorch {torch.__version__}", "bench": "cifar_small_epoch", "batch": a.batch,
                      "threads": a.threads, "examples": n, "train_seconds": round(dt, 3),
                      "train_cpu_seconds": round(dc, 3), "test_accuracy": correct / xte.shape[0]}), flush=True)


if __name__ == "__main__":
    main()
