#!/usr/bin/env python3
"""SGEMM, CLGraph (`clbench matmul --variant 2`) vs OpenBLAS (peers/numpy_matmul.py), interleaved.

    python3 Benchmarks/matmul_vs_openblas.py [--rounds 3] [--clbench .build/release/clbench]

Each round runs every shape once through each side, alternating, so the machine's slow and
fast phases hit both alike. Prints each round's GFLOP/s and, per shape, the median over rounds
of the per-round ratio CLGraph / OpenBLAS, twice: with CLGraph's kernel (device) time, the time a
product takes inside a plan, and with its wall time, enqueue to finish of one isolated call (the
launch and wake-up cost a plan's back-to-back launches hide). OpenBLAS's time is wall time (its
call is synchronous). `--output` writes every report as a JSON array.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# Square sizes of the SGEMM target and the names MLP's six training products (clbench matmul --model mlp).
SHAPES = [
    (256, 256, 256, False, False), (512, 512, 512, False, False),
    (1024, 1024, 1024, False, False), (2048, 2048, 2048, False, False),
    (128, 512, 144, False, True), (128, 27, 512, False, True), (128, 512, 27, False, False),
    (27, 512, 128, True, False), (128, 144, 512, False, False), (512, 144, 128, True, False),
]


def run_json(command):
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def flags(ta, tb):
    return (["--transpose-a"] if ta else []) + (["--transpose-b"] if tb else [])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clbench", default=os.path.join(HERE, "..", ".build", "release", "clbench"))
    parser.add_argument("--output")
    args = parser.parse_args()

    ratios = {shape: [] for shape in SHAPES}
    wall_ratios = {shape: [] for shape in SHAPES}
    reports = []
    for round_index in range(1, args.rounds + 1):
        for shape in SHAPES:
            m, n, k, ta, tb = shape
            iters = "20" if m * n * k >= 512 ** 3 else "200"
            ours = run_json([args.clbench, "matmul", "--m", str(m), "--n", str(n), "--k", str(k), *flags(ta, tb),
                             "--variant", "2", "--no-tuned", "--iters", iters, "--quiet", "--format", "json"])
            theirs = run_json([sys.executable, os.path.join(HERE, "peers", "numpy_matmul.py"), "--m", str(m),
                               "--n", str(n), "--k", str(k), *flags(ta, tb), "--iters", iters])
            reports += [ours, theirs]
            a, b = ours["results"][0], theirs["results"][0]
            if not (a["valid"] and b["valid"]):
                sys.exit(f"invalid result for {shape}: clgraph nmse {a['nmse']}, openblas nmse {b['nmse']}")
            ratio = a["gflops"] / b["gflops"]
            ratios[shape].append(ratio)
            wall_ratios[shape].append(b["median_ms"] / a["median_ms"])
            layout = ("t" if ta else "n") + ("t" if tb else "n")
            print(f"round {round_index} {m}x{n}x{k}.{layout}: clgraph {a['gflops']:.1f} GFLOP/s "
                  f"(kernel {a['kernel_median_ms']:.4f} ms, wall {a['median_ms']:.4f} ms), "
                  f"openblas {b['gflops']:.1f} GFLOP/s ({b['median_ms']:.4f} ms), ratio {ratio:.2f}", flush=True)
    print("median over rounds of clgraph / openblas speed (kernel time; wall time):")
    for shape, values in ratios.items():
        m, n, k, ta, tb = shape
        layout = ("t" if ta else "n") + ("t" if tb else "n")
        print(f"  {m}x{n}x{k}.{layout}: {statistics.median(values):.2f}; {statistics.median(wall_ratios[shape]):.2f}"
              f"  (rounds: {' '.join(f'{v:.2f}' for v in values)}; {' '.join(f'{v:.2f}' for v in wall_ratios[shape])})")
    if args.output:
        with open(args.output, "w") as f:
            json.dump(reports, f, indent=2, sort_keys=True)


if __name__ == "__main__":
    main()
