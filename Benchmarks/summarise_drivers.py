#!/usr/bin/env python3
"""Summarises Benchmarks/drivers_side_by_side.sh's output folder as Markdown tables.

For each clbench report (attention, matmul, layernorm, rowops, quant) and each case in it: every
variant's median time per driver (the median over rounds of each round's median), the ratio between
drivers, and which variant is fastest on each driver. Row-op reports are compared by kernel time
(their kernels take tens of microseconds, the same order as a launch's round trip) and mark the
variant the automatic choice ran; a table per row-op case then gives, per driver, the automatic
variant's time over the fastest's in each round and the median of those ratios. For the model benchmarks: the median ms/step of
`clmodel bench mlp|gpt` and the median tokens/s of `clmodel bench gpt --decode`.

    python3 Benchmarks/summarise_drivers.py OUT_DIR
"""
import glob, json, os, re, statistics, sys
from collections import defaultdict


def case_key(params, result):
    keys = [k for k in ("seq", "m", "n", "k", "rows", "cols", "batch", "form", "format", "shape") if k in result or k in params]
    return ", ".join(f"{k} {result.get(k, params.get(k))}" for k in keys)


def reports(path):
    data = json.load(open(path))
    return data if isinstance(data, list) else [data]


def main(out):
    drivers = sorted(d for d in os.listdir(out) if os.path.isdir(os.path.join(out, d)) and d != "cache")
    times = defaultdict(lambda: defaultdict(list))   # (benchmark, case) -> (variant, driver) -> [ms]
    automatic = {}                                     # (benchmark, case, driver) -> variant
    rounds = defaultdict(dict)                         # (case, driver) -> round file -> {variant: ms}
    for driver in drivers:
        for path in sorted(glob.glob(os.path.join(out, driver, "*-r*.json"))):
            for report in reports(path):
                bench = report["benchmark"] + (" (mlp shapes)" if "matmul-mlp" in path else "")
                for result in report["results"]:
                    if not result.get("valid", True) or "median_ms" not in result:
                        continue
                    case = case_key(report.get("params", {}), result)
                    ms = result["median_ms"]
                    if bench == "rowops":
                        ms = result["kernel_median_ms"] if result.get("kernel_median_ms", 0) > 0 else ms
                        rounds[(case, driver)].setdefault(path, {})[result["variant"]] = ms
                        if result.get("automatic") == 1:
                            automatic[(bench, case, driver)] = result["variant"]
                    times[(bench, case)][(result["variant"], driver)].append(ms)
    print(f"| benchmark | case | variant | " + " | ".join(f"{d} ms" for d in drivers) + (f" | {drivers[1]}/{drivers[0]}" if len(drivers) == 2 else "") + " |")
    print("| --- | --- | --- | " + " | ".join("---" for _ in drivers) + (" | ---" if len(drivers) == 2 else "") + " |")
    fastest = {}
    for (bench, case), cells in sorted(times.items()):
        variants = sorted({v for v, _ in cells})
        medians = {(v, d): statistics.median(cells[(v, d)]) for (v, d) in cells}
        for d in drivers:
            candidates = [(medians[(v, d)], v) for v in variants if (v, d) in medians]
            if candidates:
                fastest[(bench, case, d)] = min(candidates)[1]
        for v in variants:
            row = [f"{medians[(v, d)]:.3f}" if (v, d) in medians else "-" for d in drivers]
            ratio = ""
            if len(drivers) == 2 and all((v, d) in medians for d in drivers):
                ratio = f" | {medians[(v, drivers[1])] / medians[(v, drivers[0])]:.2f}"
            elif len(drivers) == 2:
                ratio = " | -"
            marks = "".join(" ◆" + d for d in drivers if fastest.get((bench, case, d)) == v)
            marks += "".join(" ○" + d for d in drivers if automatic.get((bench, case, d)) == v)
            print(f"| {bench} | {case} | {v}{marks} | " + " | ".join(row) + ratio + " |")
    print("\n◆driver: the fastest variant of that case on that driver" + ("; ○driver: the variant the automatic choice ran there (rowops)" if automatic else "") + ".\n")
    if automatic:
        print("| rowops case | driver | automatic | fastest | automatic/fastest per round | median |")
        print("| --- | --- | --- | --- | --- | --- |")
        for (case, driver), per_file in sorted(rounds.items()):
            auto = automatic.get(("rowops", case, driver))
            best = fastest.get(("rowops", case, driver))
            ratios = [cells[auto] / cells[best] for _, cells in sorted(per_file.items()) if auto in cells and best in cells]
            shown = ", ".join(f"{r:.2f}" for r in ratios)
            median = f"{statistics.median(ratios):.2f}" if ratios else "-"
            print(f"| {case} | {driver} | {auto} | {best} | {shown} | {median} |")
        print()
    print("| model benchmark | " + " | ".join(drivers) + " |")
    print("| --- | " + " | ".join("---" for _ in drivers) + " |")
    figures = defaultdict(lambda: defaultdict(list))
    for driver in drivers:
        for path in sorted(glob.glob(os.path.join(out, driver, "*-r*.log"))):
            name = re.sub(r"-r\d+\.log$", "", os.path.basename(path))
            for line in open(path):
                ms = re.search(r"median ([0-9.]+) ms/step", line)
                tokens = re.search(r"decode batch (\d+): median ([0-9.]+) tokens/s", line)
                if tokens:
                    figures[f"{name} batch {tokens.group(1)} (tokens/s)"][driver].append(float(tokens.group(2)))
                elif ms:
                    figures[f"{name} (ms/step)"][driver].append(float(ms.group(1)))
    for name, cells in sorted(figures.items()):
        print(f"| {name} | " + " | ".join(f"{statistics.median(cells[d]):.3f}" if cells[d] else "-" for d in drivers) + " |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else sys.exit(__doc__))
