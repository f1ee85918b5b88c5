#!/usr/bin/env python3
"""Summarises the row-norm experiment (Benchmarks/norms_experiment.sh): a Markdown table of the
final validation loss (mean, min-max over seeds), test loss and ms/step per dataset and norm, and one
SVG of the validation-loss curves (mean over seeds, with the min-max band) for every dataset.

Usage: Benchmarks/summarise_norms.py [FOLDER]   (default: the pocl results folder)
Writes FOLDER/summary.md and FOLDER/norms-loss-curves.svg; prints the table.
ms/step: the median of the log lines' ms/step over every seed, without the first line (its
interval holds the plan's compilation)."""
import glob, os, re, statistics, sys

folder = sys.argv[1] if len(sys.argv) > 1 else "Benchmarks/results/pocl-3.1-intel-xeon-2cu/norms"
NORMS = ["layernorm", "rmsnorm", "proportions", "none"]
COLORS = {"layernorm": "#2980b9", "rmsnorm": "#27ae60", "proportions": "#c0392b", "none": "#7f8c8d"}
DATASETS = ["shakespeare", "names"]
line_re = re.compile(r"^step (\d+) \|(.*)$")

def parse(path):
    val, train, ms, test = [], [], [], None
    for line in open(path):
        m = line_re.match(line.strip())
        if m:
            step = int(m.group(1))
            fields = dict(f.strip().split(" ", 1) for f in m.group(2).split("|") if f.strip())
            if "val_loss" in fields: val.append((step, float(fields["val_loss"])))
            if "train_loss" in fields: train.append((step, float(fields["train_loss"])))
            if "ms/step" in fields: ms.append(float(fields["ms/step"]))
        elif line.startswith("test_loss"):
            test = float(line.split()[1])
    return val, train, ms, test

runs = {}
for path in sorted(glob.glob(os.path.join(folder, "*-seed*.log"))):
    name = os.path.basename(path)[:-4]
    dataset, norm, seed = re.match(r"(\w+)-(\w+)-seed(\d+)", name).groups()
    runs.setdefault((dataset, norm), []).append((int(seed),) + parse(path))

rows = ["| data | norm | seeds | final val loss mean | min–max | test loss mean | ms/step (median) |", "|---|---|---|---|---|---|---|"]
for dataset in DATASETS:
    for norm in NORMS:
        done = [r for r in runs.get((dataset, norm), []) if r[4] is not None and r[1]]
        if not done: continue
        finals = [r[1][-1][1] for r in done]
        tests = [r[4] for r in done]
        ms = [x for r in done for x in r[3][1:]]
        steps = done[0][1][-1][0]
        rows.append(f"| {dataset} ({steps} steps) | {norm} | {', '.join(str(r[0]) for r in done)} | {statistics.mean(finals):.4f} | "
                    f"{min(finals):.4f}–{max(finals):.4f} | {statistics.mean(tests):.4f} | {statistics.median(ms):.1f} |")
table = "\n".join(rows)
print(table)
open(os.path.join(folder, "summary.md"), "w").write(table + "\n")

# One SVG: a panel per dataset, validation loss against step, mean over seeds with a min-max band.
panel_w, panel_h, left, top, bottom, gap = 460, 360, 60, 50, 44, 30
width = left + len(DATASETS) * (panel_w + gap) + 120
height = top + panel_h + bottom
out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="Helvetica, Arial, sans-serif" font-size="12">',
       '<rect width="100%" height="100%" fill="white"/>',
       f'<text x="{left}" y="22" font-size="15" font-weight="bold">GPT validation loss by row norm (mean of seeds, band = min–max)</text>']
for p, dataset in enumerate(DATASETS):
    series = {}
    for norm in NORMS:
        done = [r for r in runs.get((dataset, norm), []) if r[1]]
        if not done: continue
        steps = sorted(set.intersection(*[set(s for s, _ in r[1]) for r in done]))
        pts = [(s, [dict(r[1])[s] for r in done]) for s in steps]
        series[norm] = pts
    if not series: continue
    x0 = left + p * (panel_w + gap)
    all_steps = [s for pts in series.values() for s, _ in pts]
    # the first evaluation (step 0, ~ln V) would flatten the rest: start the axis at the first after it
    values = [v for pts in series.values() for s, vs in pts if s > 0 for v in vs]
    lo, hi = min(values), max(values)
    pad = (hi - lo) * 0.05 or 0.5
    lo, hi = lo - pad, hi + pad
    smax = max(all_steps)
    sx = lambda s: x0 + panel_w * s / smax
    sy = lambda v: top + panel_h * (1 - (min(max(v, lo), hi) - lo) / (hi - lo))
    out.append(f'<rect x="{x0}" y="{top}" width="{panel_w}" height="{panel_h}" fill="none" stroke="#999"/>')
    out.append(f'<text x="{x0 + panel_w / 2}" y="{top - 8}" text-anchor="middle" font-weight="bold">{dataset}</text>')
    for i in range(6):
        v = lo + (hi - lo) * i / 5; s = smax * i / 5
        out.append(f'<text x="{x0 - 6}" y="{sy(v) + 4:.1f}" text-anchor="end" fill="#555">{v:.2f}</text>')
        out.append(f'<line x1="{x0}" y1="{sy(v):.1f}" x2="{x0 + panel_w}" y2="{sy(v):.1f}" stroke="#eee"/>')
        out.append(f'<text x="{sx(s):.1f}" y="{top + panel_h + 18}" text-anchor="middle" fill="#555">{int(s)}</text>')
    out.append(f'<text x="{x0 + panel_w / 2}" y="{top + panel_h + 36}" text-anchor="middle" fill="#555">step</text>')
    for norm, pts in series.items():
        pts = [(s, vs) for s, vs in pts if s > 0]
        band = [(sx(s), sy(max(vs))) for s, vs in pts] + [(sx(s), sy(min(vs))) for s, vs in reversed(pts)]
        out.append(f'<polygon fill="{COLORS[norm]}" fill-opacity="0.15" stroke="none" points="' + " ".join(f"{a:.1f},{b:.1f}" for a, b in band) + '"/>')
        out.append(f'<polyline fill="none" stroke="{COLORS[norm]}" stroke-width="1.8" points="' +
                   " ".join(f"{sx(s):.1f},{sy(statistics.mean(vs)):.1f}" for s, vs in pts) + '"/>')
lx = left + len(DATASETS) * (panel_w + gap)
for i, norm in enumerate(NORMS):
    out.append(f'<line x1="{lx}" y1="{top + 10 + 20 * i}" x2="{lx + 24}" y2="{top + 10 + 20 * i}" stroke="{COLORS[norm]}" stroke-width="3"/>')
    out.append(f'<text x="{lx + 30}" y="{top + 14 + 20 * i}">{norm}</text>')
out.append("</svg>")
open(os.path.join(folder, "norms-loss-curves.svg"), "w").write("\n".join(out) + "\n")
