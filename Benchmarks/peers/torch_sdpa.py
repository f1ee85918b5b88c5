#!/usr/bin/env python3
"""PyTorch CPU scaled_dot_product_attention, in clbench's JSON schema (benchmark "attention").

    python3 Benchmarks/peers/torch_sdpa.py --seqs 256,1024 --output torch_sdpa.json
    python3 Benchmarks/peers/torch_sdpa.py --seq 256 --no-causal
    clbench attention --seqs 256,1024 --output clgraph.json
    clbench compare torch_sdpa.json clgraph.json

Same problem as `clbench attention`: q, k, v [B, H, T, D] uniform in [0, 1), scale 1/sqrt(D),
causal by default. Times are wall-clock medians of `--iters` runs after warm-up (a CPU op has no
separate kernel time, so kernel_median_ms repeats the wall median). FLOP are counted like
clbench: 4·D per visible (query, key) pair. Validated against a float64 materialised softmax.
`--threads` sets torch's intra-op threads (default: torch's own choice); the variant is named
torch-sdpa-<threads>t.
"""
import argparse
import json
import platform
import statistics
import time

import torch
import torch.nn.functional as F


def visible_pairs(b, h, t, causal):
    return b * h * (t * (t + 1) // 2 if causal else t * t)


def reference(q, k, v, causal):
    q, k, v = q.double(), k.double(), v.double()
    scores = q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5
    if causal:
        t = q.shape[-2]
        mask = torch.ones(t, t, dtype=torch.bool).triu(1)
        scores = scores.masked_fill(mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seq", type=int, default=256)
    parser.add_argument("--seqs", help="comma-separated sequence lengths (overrides --seq)")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--head-dim", type=int, default=64)
    parser.add_argument("--no-causal", action="store_true")
    parser.add_argument("--iters", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--peak-json", help="output of `clbench peak --format json`, for % of peak")
    parser.add_argument("--output")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    causal = not args.no_causal
    peak = {"fp32GFLOPS": 0.0, "copyGBps": 0.0}
    if args.peak_json:
        with open(args.peak_json) as f:
            peak = json.load(f)
    lengths = [int(s) for s in args.seqs.split(",")] if args.seqs else [args.seq]
    reports = []
    for t in lengths:
        b, h, d = args.batch, args.heads, args.head_dim
        gen = torch.Generator().manual_seed(t * 7919 + d)
        q, k, v = (torch.rand(b, h, t, d, generator=gen) for _ in range(3))
        with torch.inference_mode():
            for _ in range(args.warmup):
                out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
            times = []
            for _ in range(args.iters):
                start = time.perf_counter()
                out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
                times.append((time.perf_counter() - start) * 1e3)
        ref = reference(q, k, v, causal)
        error = out.double() - ref
        nmse = float((error ** 2).sum() / (ref ** 2).sum())
        median = statistics.median(times)
        flops = 4.0 * d * visible_pairs(b, h, t, causal)
        gflops = flops / (median / 1e3) / 1e9
        io_bytes = 4.0 * 4 * b * h * t * d
        reports.append({
            "benchmark": "attention",
            "device": {"name": platform.processor() or platform.machine(), "platform": f"torch {torch.__version__}",
                       "driver": f"{torch.get_num_threads()} threads", "type": "CPU",
                       "peak_gflops": peak.get("fp32GFLOPS", 0.0), "peak_gbps": peak.get("copyGBps", 0.0)},
            "params": {"batch": str(b), "heads": str(h), "seq": str(t), "head_dim": str(d),
                       "causal": "true" if causal else "false"},
            "results": [{
                "variant": f"torch-sdpa-{torch.get_num_threads()}t", "description": f"torch {torch.__version__} F.scaled_dot_product_attention (CPU)",
                "median_ms": median, "min_ms": min(times), "max_ms": max(times), "kernel_median_ms": median,
                "gflops": gflops, "gbps": io_bytes / (median / 1e3) / 1e9,
                "percent_of_peak": 100 * gflops / peak["fp32GFLOPS"] if peak.get("fp32GFLOPS") else 0.0,
                "nmse": nmse, "max_abs_error": float(error.abs().max()), "valid": nmse <= 1e-9,
                "speedup_vs_baseline": 1.0, "fused": True, "scratch_bytes": 0.0,
                "batch": b, "heads": h, "seq": t, "head_dim": d,
            }],
            "clgraph_version": "peer", "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        })
    text = json.dumps(reports[0] if len(reports) == 1 else reports, indent=2, sort_keys=True)
    print(text)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
