#!/usr/bin/env python3
"""PyTorch peer for `FunctionalNets.Bench -- chargpt_train`: training throughput (tokens per second) of the
CharGpt sample's model, a decoder-only GPT with pre-norm blocks: token embedding + learned positions, N blocks of
x + attn(ln1(x)) and x + mlp(ln2(x)) (causal multi-head self-attention with one fused QKV projection; MLP
dim -> 4 dim -> dim with the tanh GELU, as GPT-2), a final LayerNorm and an LM head tied to the token embedding. AdamW, dropout 0.
PyTorch 1.13 has no fused scaled_dot_product_attention, so attention is written out (softmax(QK^T / sqrt d) V with a
causal mask), as nanoGPT's non-flash path does. Inputs are random token ids: throughput does not depend on the text.

Run: /usr/bin/python3 bench/peers/pytorch_chargpt.py --threads 2
"""
import argparse, json, math, os, time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, dim, heads, context):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.fc1, self.fc2 = nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, dim)
        self.register_buffer("mask", torch.tril(torch.ones(context, context, dtype=torch.bool)))

    def forward(self, x):
        n, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q, k, v = (z.view(n, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(d // self.heads)
        att = att.masked_fill(~self.mask[:t, :t], float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(n, t, d)
        x = x + self.proj(y)
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x)), approximate="tanh"))


class Gpt(nn.Module):
    def __init__(self, vocab, context, dim, heads, layers):
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, dim), nn.Embedding(context, dim)
        self.blocks = nn.ModuleList(Block(dim, heads, context) for _ in range(layers))
        self.ln = nn.LayerNorm(dim)

    def forward(self, ids):
        x = self.tok(ids) + self.pos(torch.arange(ids.shape[1]))
        for b in self.blocks:
            x = b(x)
        return self.ln(x) @ self.tok.weight.t()  # the LM head tied to the token embedding


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--vocab", type=int, default=96)
    ap.add_argument("--context", type=int, default=128)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=20)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = Gpt(a.vocab, a.context, a.dim, a.heads, a.layers)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    ids = torch.randint(0, a.vocab, (a.batch, a.context + 1))
    x, y = ids[:, :-1], ids[:, 1:]

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x).reshape(-1, a.vocab), y.reshape(-1))
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    times, cpu = [], []
    for _ in range(a.steps):
        t, c = time.perf_counter(), time.process_time()
        step()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    times.sort()
    cpu.sort()
    median = times[len(times) // 2]
    print(json.dumps({
        "peer": f"pytorch {torch.__version__}", "bench": "chargpt_train", "batch": a.batch, "context": a.context,
        "dim": a.dim, "heads": a.heads, "layers": a.layers, "vocab": a.vocab,
        "step_ms_median": round(median * 1e3, 2), "tokens_per_second": round(a.batch * a.context / median),
        "parameters": sum(p.numel() for p in model.parameters()),
        # Process CPU seconds per step (all threads), as FunctionalNets' bench prints: on a shared machine it tells
        # how much work a step took when the wall clock is noisy.
        "cpu_s_per_step_median": round(cpu[len(cpu) // 2], 3), "load_average_1m": os.getloadavg()[0],
    }))


if __name__ == "__main__":
    main()
