#!/usr/bin/env python3
"""The GPT of `clmodel train gpt` in PyTorch (CPU), to time training steps and decoding against.

Same architecture and names (makemore / nanoGPT: wte, wpe, pre-norm blocks with LayerNorm,
causal self-attention c_attn/c_proj, GELU (tanh) MLP c_fc/c_proj 4x wide, ln_f, lm_head without
bias), same data (names: each name its own sequence, block = longest name + 1, targets padded
with -1; Tiny Shakespeare: random windows of the first 90%), AdamW with weight decay on matrices
and embeddings only, betas (0.9, 0.99), the same defaults per dataset as clmodel.

    python3 Benchmarks/peers/torch_gpt.py --time-only --threads 2
    python3 Benchmarks/peers/torch_gpt.py --dataset shakespeare --time-only
    python3 Benchmarks/peers/torch_gpt.py --decode 200

`--time-only` prints `median X ms/step` over blocks of 50 steps after a warm-up (the shape
`clmodel bench gpt` prints), with `--format json` a clbench-shaped report. `--decode N` times
greedy decoding of N tokens with a KV cache (median tokens/s over `--rounds`, `--decode-batch`
sequences at once). Initialisation is torch's seeded normal
(N(0, 0.02), c_proj 0.02/sqrt(2 layers)), not CLGraph's xorshift: losses are comparable in
distribution, not bit for bit.
"""
import argparse, json, math, os, platform, random, statistics, time

import torch
import torch.nn as nn
import torch.nn.functional as F

# The data sets that ship with CLGraph.
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Sources", "Models", "Data")


class Block(nn.Module):
    def __init__(self, c, heads):
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(c)
        self.attn = nn.Module()
        self.attn.c_attn = nn.Linear(c, 3 * c)
        self.attn.c_proj = nn.Linear(c, c)
        self.ln_2 = nn.LayerNorm(c)
        self.mlp = nn.Module()
        self.mlp.c_fc = nn.Linear(c, 4 * c)
        self.mlp.c_proj = nn.Linear(4 * c, c)

    def forward(self, x, cache=None):
        b, t, c = x.shape
        q, k, v = self.attn.c_attn(self.ln_1(x)).split(c, dim=2)
        q, k, v = (z.view(b, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))
        if cache is not None:
            if cache.get("k") is not None:
                k = torch.cat([cache["k"], k], dim=2)
                v = torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        y = F.scaled_dot_product_attention(q, k, v, is_causal=(t > 1))
        x = x + self.attn.c_proj(y.transpose(1, 2).contiguous().view(b, t, c))
        return x + self.mlp.c_proj(F.gelu(self.mlp.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, vocab, block, layers, heads, c):
        super().__init__()
        self.transformer = nn.Module()
        self.transformer.wte = nn.Embedding(vocab, c)
        self.transformer.wpe = nn.Embedding(block, c)
        self.transformer.h = nn.ModuleList([Block(c, heads) for _ in range(layers)])
        self.transformer.ln_f = nn.LayerNorm(c)
        self.lm_head = nn.Linear(c, vocab, bias=False)
        for name, p in self.named_parameters():
            if p.dim() >= 2:
                std = 0.02 / math.sqrt(2 * layers) if name.endswith("c_proj.weight") else 0.02
                nn.init.normal_(p, 0, std)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def forward(self, idx, caches=None, start=0):
        t = idx.shape[1]
        x = self.transformer.wte(idx) + self.transformer.wpe(torch.arange(start, start + t))
        for i, block in enumerate(self.transformer.h):
            x = block(x, None if caches is None else caches[i])
        return self.lm_head(self.transformer.ln_f(x))


def load(dataset, path):
    if dataset == "names":
        splits = [open(os.path.join(path, f"{s}.txt")).read().split("\n") for s in ("train", "val", "test")]
        vocab = ["\n"] + [chr(c) for c in range(ord("a"), ord("z") + 1)]
        index = {c: i for i, c in enumerate(vocab)}
        names = [[index[c] for c in w] for w in splits[0] if w]
        block = max(len(w) for s in splits for w in s) + 1
        load.val = [[index[c] for c in w] for w in splits[1] if w]
        return vocab, block, ("names", names)
    text = open(path if path.endswith(".txt") else os.path.join(path, "input.txt")).read()
    vocab = sorted(set(text))
    index = {c: i for i, c in enumerate(vocab)}
    tokens = torch.tensor([index[c] for c in text[: len(text) * 9 // 10]], dtype=torch.long)
    return vocab, 64, ("stream", tokens)


def batch(data, size, block, rng):
    kind, values = data
    if kind == "names":
        x = torch.zeros(size, block, dtype=torch.long)
        y = torch.full((size, block), -1, dtype=torch.long)
        for row in range(size):
            w = values[rng.randrange(len(values))]
            x[row, 1 : len(w) + 1] = torch.tensor(w)
            y[row, : len(w)] = torch.tensor(w)
            y[row, len(w)] = 0
        return x, y
    starts = [rng.randrange(len(values) - block - 1) for _ in range(size)]
    x = torch.stack([values[s : s + block] for s in starts])
    y = torch.stack([values[s + 1 : s + block + 1] for s in starts])
    return x, y


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", choices=["names", "shakespeare"], default="names")
    ap.add_argument("--data", default=None, help="names folder or a text file (default: the repository's copy of the dataset)")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--time-only", action="store_true")
    ap.add_argument("--decode", type=int, default=0, help="time greedy KV-cache decoding of this many tokens instead")
    ap.add_argument("--decode-batch", type=int, default=1, help="with --decode: sequences decoded together")
    ap.add_argument("--rounds", type=int, default=30, help="with --decode: timed rounds (after one untimed); the median is printed")
    ap.add_argument("--format", choices=["text", "json"], default="text")
    ap.add_argument("--train", type=int, default=0, help="names: train this many steps (cosine to lr/10) and print the val loss")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(1337)
    names = a.dataset == "names"
    if a.data is None:
        a.data = os.path.join(DATA, "names") if a.dataset == "names" else os.path.join(DATA, "tinyshakespeare", "input.txt")
    vocab, block, data = load(a.dataset, a.data)
    c = 64 if names else 128
    model = GPT(len(vocab), block, 4, 4, c)
    if a.decode:
        model.eval()
        steps = min(a.decode, block - 1)
        rates = []
        with torch.no_grad():
            for round in range(a.rounds + 1):
                caches = [{} for _ in model.transformer.h]
                tok = torch.zeros(a.decode_batch, 1, dtype=torch.long)
                t0 = time.perf_counter()
                for pos in range(steps):
                    logits = model(tok, caches, start=pos)
                    tok = logits[:, -1].argmax(-1, keepdim=True)
                dt = time.perf_counter() - t0
                if round > 0:
                    rates.append(a.decode_batch * steps / dt)
        rates.sort()
        print(f"torch decode: batch {a.decode_batch}, {steps} tokens per sequence, median {statistics.median(rates):.0f} tokens/s "
              f"(min {rates[0]:.0f}, max {rates[-1]:.0f}) over {len(rates)} rounds ({torch.get_num_threads()} threads)")
        return
    decay = [p for p in model.parameters() if p.dim() >= 2]
    other = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01 if names else 0.1}, {"params": other, "weight_decay": 0.0}],
                            lr=5e-4 if names else 1e-3, betas=(0.9, 0.99), eps=1e-8)
    rng = random.Random(1)
    size = 32 if names else 12

    def step():
        x, y = batch(data, size, block, rng)
        logits = model(x)
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1), ignore_index=-1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if not names:
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    if a.train:
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=a.train, eta_min=(5e-4 if names else 1e-3) / 10)
        for i in range(a.train):
            loss = step()
            sched.step()
            if (i + 1) % 500 == 0:
                print(f"step {i + 1} | train_loss {loss:.4f}", flush=True)
        model.eval()
        with torch.no_grad():
            total, count = 0.0, 0
            for w in load.val:
                x = torch.zeros(1, block, dtype=torch.long)
                y = torch.full((1, block), -1, dtype=torch.long)
                x[0, 1 : len(w) + 1] = torch.tensor(w)
                y[0, : len(w)] = torch.tensor(w)
                y[0, len(w)] = 0
                logits = model(x)
                total += F.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1), ignore_index=-1, reduction="sum").item()
                count += len(w) + 1
        print(f"val_loss {total / count:.4f}")
        return
    for _ in range(a.warmup):
        step()
    times, done = [], 0
    while done < a.steps:
        n = min(50, a.steps - done)
        t0 = time.perf_counter()
        for _ in range(n):
            step()
        times.append((time.perf_counter() - t0) * 1e3 / n)
        done += n
    times.sort()
    median = times[len(times) // 2]
    if a.format == "json":
        print(json.dumps({"benchmark": "train_gpt", "device": {"name": platform.processor() or "cpu", "platform": "torch " + torch.__version__},
                          "params": {"dataset": a.dataset, "batch": size, "block": block, "threads": torch.get_num_threads()},
                          "results": [{"variant": "torch-cpu", "description": "PyTorch CPU forward + backward + AdamW",
                                       "median_ms": median, "min_ms": times[0], "max_ms": times[-1], "valid": True}]}, indent=2))
    else:
        print(f"torch {torch.__version__} ({torch.get_num_threads()} threads): median {median:.3f} ms/step (min {times[0]:.3f}) over {len(times)} blocks; dataset {a.dataset}, batch {size}, block {block}")


if __name__ == "__main__":
    main()
