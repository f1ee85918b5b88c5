#!/usr/bin/env python3
"""The names MLP in PyTorch (CPU), the reference clmodel's `train mlp` is compared with.

Same data pipeline (each split read as one character stream, `\n` a token, vocabulary `\n` + a-z,
sliding windows of 3 predicting the 4th, batches of 128 consecutive windows wrapping around),
same initialisation (xorshift*, seed 1337, Box-Muller; embedding N(0,1); hidden and output
U(-1/sqrt(fan_in), 1/sqrt(fan_in)) drawn [out, in]), AdamW lr 7e-4, weight decay 1e-4 on every
parameter, betas (0.9, 0.999), eps 1e-8, cosine to 0 over the steps. Prints the same log lines
as `clmodel train mlp`: `step N | train_loss X | val_loss Y | lr Z | ms/step W`, then `test_loss T`.

    python3 Benchmarks/peers/torch_mlp.py --steps 2000 --threads 2
    python3 Benchmarks/peers/torch_mlp.py --steps 2000 --time-only --format json

`--time-only` skips evaluation and prints the median ms/step over the steps after a warm-up, and
with `--format json` a clbench-shaped report (benchmark "train_mlp", one result "torch-cpu").
"""
import argparse, json, math, os, platform, statistics, time

import torch

# The data sets that ship with CLGraph.
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Sources", "Models", "Data")

MASK = (1 << 64) - 1


class XorShift:
    def __init__(self, seed):
        self.state = seed or 0x9E3779B97F4A7C15

    def next(self):
        s = self.state
        s ^= s >> 12
        s ^= (s << 25) & MASK
        s ^= s >> 27
        self.state = s
        return ((s * 0x2545F4914F6CDD1D) & MASK) >> 32

    def uniform(self):
        return (self.next() >> 8) / 16777216.0

    def normals(self, count):
        out = []
        while len(out) < count:
            u1 = self.uniform()
            while u1 == 0:
                u1 = self.uniform()
            u2 = self.uniform()
            r = math.sqrt(-2 * math.log(u1))
            out.append(r * math.cos(2 * math.pi * u2))
            if len(out) < count:
                out.append(r * math.sin(2 * math.pi * u2))
        return out

    def uniforms(self, count, lo, hi):
        return [lo + (hi - lo) * self.uniform() for _ in range(count)]


def read_split(path, vocab):
    text = open(path).read()
    index = {c: i for i, c in enumerate(vocab)}
    bad = sorted({c for c in text if c not in index})
    if bad:
        raise SystemExit(f"{path}: characters outside the vocabulary: {bad!r}")
    return torch.tensor([index[c] for c in text], dtype=torch.long)


def batch(tokens, index, size, context):
    n = tokens.numel()
    start = (index * size) % n
    windows = (start + torch.arange(size)) % n
    positions = (windows[:, None] + torch.arange(context + 1)[None, :]) % n
    chunk = tokens[positions]
    return chunk[:, :context], chunk[:, context]


class MLP(torch.nn.Module):
    def __init__(self, vocab=27, context=3, embedding=48, hidden=512, seed=1337):
        super().__init__()
        self.context, self.width = context, embedding
        self.embedding = torch.nn.Embedding(vocab, embedding)
        self.hidden = torch.nn.Linear(context * embedding, hidden)
        self.output = torch.nn.Linear(hidden, vocab)
        rng = XorShift(seed)
        s, t = 1 / math.sqrt(context * embedding), 1 / math.sqrt(hidden)
        with torch.no_grad():
            self.embedding.weight.copy_(torch.tensor(rng.normals(vocab * embedding)).view(vocab, embedding))
            self.hidden.weight.copy_(torch.tensor(rng.uniforms(hidden * context * embedding, -s, s)).view(hidden, -1))
            self.hidden.bias.copy_(torch.tensor(rng.uniforms(hidden, -s, s)))
            self.output.weight.copy_(torch.tensor(rng.uniforms(vocab * hidden, -t, t)).view(vocab, hidden))
            self.output.bias.copy_(torch.tensor(rng.uniforms(vocab, -t, t)))

    def forward(self, x):
        return self.output(torch.tanh(self.hidden(self.embedding(x).view(x.shape[0], -1))))


@torch.no_grad()
def split_loss(model, tokens, size, context):
    batches = tokens.numel() // size
    total = 0.0
    for i in range(batches):
        x, y = batch(tokens, i, size, context)
        total += torch.nn.functional.cross_entropy(model(x), y).item()
    return total / batches


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", default=os.path.join(DATA, "names"), help="names folder (default: the repository's copy)")
    p.add_argument("--steps", type=int, default=50000)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=7e-4)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--log-every", type=int, default=1000)
    p.add_argument("--eval-every", type=int, default=5000)
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: PyTorch's default)")
    p.add_argument("--time-only", action="store_true")
    p.add_argument("--format", choices=["text", "json"], default="text")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    vocab = ["\n"] + [chr(c) for c in range(ord("a"), ord("z") + 1)]
    train = read_split(f"{a.data}/train.txt", vocab)
    model = MLP()
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=a.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=a.steps, eta_min=0)
    if not a.time_only:
        val, test = read_split(f"{a.data}/val.txt", vocab), read_split(f"{a.data}/test.txt", vocab)
        print(f"step 0 | val_loss {split_loss(model, val, a.batch, 3):.4f} | lr {a.lr:.3e}", flush=True)
    times, losses = [], []
    for step in range(a.steps):
        lr = opt.param_groups[0]["lr"]
        started = time.perf_counter()
        x, y = batch(train, step, a.batch, 3)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        value = loss.item()
        times.append(time.perf_counter() - started)
        losses.append(value)
        done = step + 1
        if a.time_only:
            continue
        evaluating = done % a.eval_every == 0 or done == a.steps
        if done % a.log_every == 0 or evaluating:
            interval = times[-a.log_every:] if done % a.log_every == 0 else times[-(done % a.log_every):]
            mean_loss = statistics.fmean(losses[-len(interval):])
            parts = [f"step {done}", f"train_loss {mean_loss:.4f}"]
            if evaluating:
                parts.append(f"val_loss {split_loss(model, val, a.batch, 3):.4f}")
            parts += [f"lr {lr:.3e}", f"ms/step {1e3 * statistics.fmean(interval):.3f}"]
            print(" | ".join(parts), flush=True)
    if a.time_only:
        timed = sorted(times[min(100, len(times) // 2):])
        median = 1e3 * statistics.median(timed)
        if a.format == "json":
            print(json.dumps({"benchmark": "train_mlp", "device": {"name": platform.processor() or platform.machine(),
                              "platform": f"PyTorch {torch.__version__}", "driver": "", "type": "CPU"},
                              "params": {"batch": a.batch, "steps": a.steps, "threads": torch.get_num_threads()},
                              "results": [{"variant": "torch-cpu", "description": "PyTorch eager, AdamW",
                                           "median_ms": median, "min_ms": 1e3 * timed[0], "max_ms": 1e3 * timed[-1],
                                           "valid": True}]}, indent=2))
        else:
            print(f"torch {torch.__version__} threads {torch.get_num_threads()}: median {median:.3f} ms/step "
                  f"(min {1e3 * timed[0]:.3f}) over {len(timed)} steps")
        return
    print(f"test_loss {split_loss(model, test, a.batch, 3):.4f}")


if __name__ == "__main__":
    main()
