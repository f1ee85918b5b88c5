#!/usr/bin/env python3
"""SGEMM through numpy (OpenBLAS in the standard wheels), in clbench's JSON schema.

    python3 Benchmarks/peers/numpy_matmul.py --sizes 256,512,1024,2048 --output openblas.json
    clbench matmul --sizes 256,512,1024,2048 --output clgraph.json
    clbench compare openblas.json clgraph.json

Times are wall-clock medians of `--iters` runs after warm-up; rates count 2·m·n·k FLOP.
`--peak-json` takes the output of `clbench peak --format json` to fill in % of peak.
"""
import argparse
import json
import platform
import statistics
import time

import numpy as np


def blas_name():
    try:
        config = np.show_config(mode="dicts")
        return config["Build Dependencies"]["blas"]["name"]
    except Exception:
        return "blas"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="256,512,1024,2048")
    parser.add_argument("--m", type=int)
    parser.add_argument("--n", type=int)
    parser.add_argument("--k", type=int)
    parser.add_argument("--transpose-a", action="store_true", help="A stored [K, M] (BLAS transposes in place)")
    parser.add_argument("--transpose-b", action="store_true", help="B stored [N, K], the linear-layer layout")
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--peak-json")
    parser.add_argument("--output")
    args = parser.parse_args()

    shapes = [(args.m, args.n, args.k)] if args.m else [(s, s, s) for s in map(int, args.sizes.split(","))]
    peak = {"fp32GFLOPS": 0.0, "copyGBps": 0.0}
    if args.peak_json:
        with open(args.peak_json) as f:
            peak = json.load(f)
    rng = np.random.default_rng(0)
    results = []
    baseline = None
    for m, n, k in shapes:
        # A transposed view of a contiguous array: numpy hands BLAS the transpose flag, no copy.
        a = rng.standard_normal((k, m), dtype=np.float32).T if args.transpose_a else rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((n, k), dtype=np.float32).T if args.transpose_b else rng.standard_normal((k, n), dtype=np.float32)
        reference = a.astype(np.float64) @ b.astype(np.float64)
        for _ in range(args.warmup):
            c = a @ b
        times = []
        for _ in range(args.iters):
            start = time.perf_counter()
            c = a @ b
            times.append((time.perf_counter() - start) * 1e3)
        error = c.astype(np.float64) - reference
        nmse = float((error ** 2).sum() / (reference ** 2).sum())
        median = statistics.median(times)
        gflops = 2.0 * m * n * k / (median / 1e3) / 1e9
        gbps = 4.0 * (m * k + k * n + m * n) / (median / 1e3) / 1e9
        baseline = baseline or median
        results.append({
            "variant": f"numpy-{blas_name()}", "description": f"numpy {np.__version__} a @ b ({blas_name()})",
            "median_ms": median, "min_ms": min(times), "max_ms": max(times), "kernel_median_ms": median,
            "gflops": gflops, "gbps": gbps,
            "percent_of_peak": 100 * gflops / peak["fp32GFLOPS"] if peak.get("fp32GFLOPS") else 0.0,
            "nmse": nmse, "max_abs_error": float(abs(error).max()), "valid": nmse < 1e-6,
            "speedup_vs_baseline": 1.0, "m": m, "n": n, "k": k,
            "transpose_a": args.transpose_a, "transpose_b": args.transpose_b,
        })
    report = {
        "benchmark": "matmul",
        "device": {"name": platform.processor() or platform.machine(), "platform": f"numpy {np.__version__}",
                   "driver": blas_name(), "type": "CPU", "peak_gflops": peak.get("fp32GFLOPS", 0.0),
                   "peak_gbps": peak.get("copyGBps", 0.0)},
        "params": {"sizes": ",".join(f"{m}x{n}x{k}" for m, n, k in shapes)},
        "results": results,
        "clgraph_version": "peer", "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    text = json.dumps(report, indent=2, sort_keys=True)
    print(text)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
