#!/usr/bin/env python3
"""PyTorch peer of bench/gpu/GpuCheck on a GPU: the same models, data, optimizers, schedules and batch sizes, printing
the same JSON lines (check names suffixed "_pytorch"):

  sgemm             4096^3 float32 matmul, 20 reps after a warm-up (TF32 off, as GpuCheck's default)
  mnist_mlp_epoch   784-512-256-10 ReLU MLP, Adam 1e-3, batch 128, two epochs timed one by one
  mnist_cnn         conv32-pool-relu-conv64-pool-relu-fc128-dropout0.5-fc10, Adam under one-cycle 3e-3 (pct 0.3,
                    div 25, final div 1e4), batch 64, N epochs, test accuracy (bar 0.992)
  cifar10_resnet18  ResNet-18 (CIFAR variant), SGD Nesterov 0.9, wd 5e-4, one-cycle 0.4 (pct 0.25), batch 512,
                    random crop (pad 4) + flip, normalised, N epochs or the time budget, test accuracy (bar 0.93)

Eager mode, float32, cudnn.benchmark on. Data: MNIST IDX .gz files from --mnist, CIFAR-10 from --cifar (the
cifar-10-binary.tar.gz archive). Run: python3 bench/peers/pytorch_gpucheck_cuda.py --device cuda --mnist data/mnist
--cifar PATH [--checks sgemm,mlp,cnn,cifar] [--cnn-epochs 4] [--cnn-seconds 90] [--cifar-epochs 18]
[--cifar-seconds 270]
"""
import argparse, gzip, io, json, os, tarfile, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def emit(**kv):
    print(json.dumps(kv), flush=True)


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize()


def load_mnist(folder):
    def idx(name):
        with gzip.open(os.path.join(folder, name), "rb") as f:
            data = f.read()
        dims = data[3]
        shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
        return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)

    norm = lambda x: ((x.astype(np.float32) / 255.0 - 0.1307) / 0.3081)[:, None]
    return (norm(idx("train-images-idx3-ubyte.gz")), idx("train-labels-idx1-ubyte.gz").astype(np.int64),
            norm(idx("t10k-images-idx3-ubyte.gz")), idx("t10k-labels-idx1-ubyte.gz").astype(np.int64))


def load_cifar(archive):
    xs, ys = {}, {}
    with tarfile.open(archive, "r:gz") as t:
        for m in t.getmembers():
            base = os.path.basename(m.name)
            if base.endswith(".bin") and ("data_batch" in base or "test_batch" in base):
                raw = np.frombuffer(t.extractfile(m).read(), np.uint8).reshape(-1, 3073)
                ys[base], xs[base] = raw[:, 0].astype(np.int64), raw[:, 1:].reshape(-1, 3, 32, 32)
    train = sorted(k for k in xs if "data_batch" in k)
    return (np.concatenate([xs[k] for k in train]), np.concatenate([ys[k] for k in train]),
            xs["test_batch.bin"], ys["test_batch.bin"])


def one_cycle(opt, max_lr, steps, pct):
    return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr, total_steps=max(2, steps), pct_start=pct,
                                               div_factor=25.0, final_div_factor=1e4, anneal_strategy="cos",
                                               cycle_momentum=False)


def evaluate(model, x, y, dev, batch=1000):
    model.eval()
    right = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            xb = torch.from_numpy(x[i:i + batch]).to(dev, non_blocking=True)
            right += (model(xb).argmax(1).cpu().numpy() == y[i:i + batch]).sum()
    return right / len(x)


def fit(model, opt, sched, x, y, dev, batch, epochs, budget, augment=None):
    times, total = [], time.perf_counter()
    g = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        model.train()
        t0 = time.perf_counter()
        perm = torch.randperm(len(x), generator=g).numpy()
        for i in range(0, len(x), batch):
            idx = perm[i:i + batch]
            xb = torch.from_numpy(x[idx]).to(dev, non_blocking=True)
            yb = torch.from_numpy(y[idx]).to(dev, non_blocking=True)
            if augment is not None:
                xb = augment(xb)
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
        sync(dev)
        times.append(round(time.perf_counter() - t0, 3))
        if time.perf_counter() - total + max(times) > budget:
            break
    return times


def sgemm(dev):
    a, b = torch.randn(4096, 4096, device=dev), torch.randn(4096, 4096, device=dev)
    (a @ b).sum().item()
    sync(dev)
    t = time.perf_counter()
    for _ in range(20):
        a @ b
    sync(dev)
    s = time.perf_counter() - t
    emit(check="sgemm_pytorch", n=4096, reps=20, seconds=round(s, 4), tflops=round(2 * 4096 ** 3 * 20 / s / 1e12, 3))


def mlp(dev, data):
    x, y = data[0], data[1]
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                          nn.Linear(256, 10)).to(dev)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    times = fit(model, opt, None, x, y, dev, 128, 2, float("inf"))
    emit(check="mnist_mlp_epoch_pytorch", examples=len(x), batch=128, epoch_seconds=times)


class MnistCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(1, 32, 3, padding=1), nn.Conv2d(32, 64, 3, padding=1)
        self.f1, self.f2, self.drop = nn.Linear(64 * 7 * 7, 128), nn.Linear(128, 10), nn.Dropout(0.5)

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.c1(x), 2))
        x = F.relu(F.max_pool2d(self.c2(x), 2))
        return self.f2(self.drop(F.relu(self.f1(x.flatten(1)))))


def cnn(dev, data, epochs, budget):
    x, y, xt, yt = data
    model = MnistCnn().to(dev)
    opt = torch.optim.Adam(model.parameters(), 3e-3)
    sched = one_cycle(opt, 3e-3, epochs * ((len(x) + 63) // 64), 0.3)
    times = fit(model, opt, sched, x, y, dev, 64, epochs, budget)
    acc = float(evaluate(model, xt, yt, dev))
    emit(check="mnist_cnn_pytorch", epochs_run=len(times), epoch_seconds=times, test_accuracy=round(acc, 4),
         bar=0.992, ok=acc >= 0.992)


class Block(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout)
        self.c2, self.b2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout)
        self.short = nn.Sequential()
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        return F.relu(self.b2(self.c2(F.relu(self.b1(self.c1(x))))) + self.short(x))


def resnet18():
    stage = lambda cin, cout, s: [Block(cin, cout, s), Block(cout, cout)]
    return nn.Sequential(nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                         *stage(64, 64, 1), *stage(64, 128, 2), *stage(128, 256, 2), *stage(256, 512, 2),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 10))


def cifar(dev, archive, epochs, budget):
    x, y, xt, yt = load_cifar(archive)
    mean = torch.tensor([0.4914, 0.4822, 0.4465], device=dev).view(1, 3, 1, 1)
    std = torch.tensor([0.2470, 0.2435, 0.2616], device=dev).view(1, 3, 1, 1)
    g = torch.Generator(device=dev).manual_seed(1)

    def augment(xb):  # bytes -> crop (pad 4) + flip + normalise, on the device
        n = xb.shape[0]
        xb = F.pad(xb.float() / 255.0, (4, 4, 4, 4))
        top = torch.randint(0, 9, (n,), device=dev, generator=g)
        left = torch.randint(0, 9, (n,), device=dev, generator=g)
        rows = (top[:, None] + torch.arange(32, device=dev))[:, None, :, None].expand(n, 3, 32, 40)
        xb = xb.gather(2, rows)
        cols = (left[:, None] + torch.arange(32, device=dev))[:, None, None, :].expand(n, 3, 32, 32)
        xb = xb.gather(3, cols)
        flip = torch.rand(n, device=dev, generator=g) < 0.5
        xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
        return (xb - mean) / std

    model = resnet18().to(dev)
    opt = torch.optim.SGD(model.parameters(), 0.4, momentum=0.9, nesterov=True, weight_decay=5e-4)
    sched = one_cycle(opt, 0.4, epochs * ((len(x) + 511) // 512), 0.25)
    times = fit(model, opt, sched, x, y, dev, 512, epochs, budget, augment)
    xt_norm = ((xt.astype(np.float32) / 255.0 - np.array([0.4914, 0.4822, 0.4465], np.float32)[:, None, None])
               / np.array([0.2470, 0.2435, 0.2616], np.float32)[:, None, None]).astype(np.float32)
    acc = float(evaluate(model, xt_norm, yt, dev))
    emit(check="cifar10_resnet18_pytorch", epochs_planned=epochs, epochs_run=len(times), epoch_seconds=times,
         test_accuracy=round(acc, 4), bar=0.93, ok=acc >= 0.93)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cuda")
    p.add_argument("--mnist", default="data/mnist")
    p.add_argument("--cifar")
    p.add_argument("--checks", default="sgemm,mlp,cnn,cifar")
    p.add_argument("--cnn-epochs", type=int, default=4)
    p.add_argument("--cnn-seconds", type=float, default=90)
    p.add_argument("--cifar-epochs", type=int, default=18)
    p.add_argument("--cifar-seconds", type=float, default=270)
    a = p.parse_args()
    dev = torch.device(a.device)
    torch.manual_seed(0)
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    emit(check="describe_pytorch", torch=torch.__version__, device=name,
         cudnn=torch.backends.cudnn.version() if dev.type == "cuda" else None)
    checks = a.checks.split(",")
    if "sgemm" in checks:
        sgemm(dev)
    if "mlp" in checks or "cnn" in checks:
        data = load_mnist(a.mnist)
        if "mlp" in checks:
            mlp(dev, data)
        if "cnn" in checks:
            cnn(dev, data, a.cnn_epochs, a.cnn_seconds)
    if "cifar" in checks:
        if a.cifar:
            cifar(dev, a.cifar, a.cifar_epochs, a.cifar_seconds)
        else:
            emit(check="cifar10_resnet18_pytorch", skipped="no archive: pass --cifar PATH")


if __name__ == "__main__":
    main()
