#!/usr/bin/env python3
"""Expected step time and efficiency of CLGraph's data-parallel GPT training, 1-8 GPUs in one box
and 2-16 boxes (one GPU each) on 25 and 100 Gb/s links. Weak scaling (the per-rank batch is
fixed, the global batch grows with p) and no overlap of communication with the backward (the
gradient plan runs the whole backward before the exchange):

    step(p)    = compute + host copies + ring all-reduce
    ring       = 2 (p - 1) / p * bytes / bandwidth + 2 (p - 1) * hop latency
    host       = 4 * bytes / PCIe bandwidth for p >= 2 (DataParallelPlan's copies: gradients down,
                 summed gradients up, weights down from the update plan and up into the gradient plan)
    efficiency = compute / step(p);  speed-up = p * efficiency (examples per second against one GPU)

MEASURED inputs come from this folder's logs (release build, pocl 3.1, 2 shared vCPUs); the others
are assumptions, stated in README.md. Prints the README's tables."""

GB = 1e9

# name, parameters (MEASURED: clmodel's model line), compute ms/step on one GPU (ASSUMED, see below)
MODELS = [
    ("names GPT (204,544 parameters)", 204_544, 3.0),
    ("Shakespeare GPT (818,176 parameters)", 818_176, 3.0),
    ("GPT-2-small-sized (163,037,184 parameters)", 163_037_184, None),
    # MEASURED compute: the single-process ms/step on pocl here (median of 6 log intervals, 2 rounds)
    ("names GPT, pocl step (measured)", 204_544, 56.1),
    ("Shakespeare GPT, pocl step (measured)", 818_176, 310.4),
]

# GPT-2-small-sized compute: 12 layers, 12 heads, 768 wide, block 1024, vocabulary 50257, untied
# head; 8 sequences of 1024 tokens per GPU; (6 N + 6 L T C) FLOP per token (Kaplan et al.);
# ASSUMED 20 TFLOP/s sustained f32 on one GPU.
GPT2_TOKENS = 8 * 1024
GPT2_FLOP_PER_TOKEN = 6 * 163_037_184 + 6 * 12 * 1024 * 768
GPU_FLOPS = 20e12
GPT2_COMPUTE_MS = GPT2_TOKENS * GPT2_FLOP_PER_TOKEN / GPU_FLOPS * 1e3

PCIE = 25 * GB            # ASSUMED: PCIe 4.0 x16, effective
IN_BOX = (10 * GB, 2e-6)  # ASSUMED: MPI over host shared memory, bandwidth and per-hop latency
LINKS = {"25 Gb/s": (25e9 / 8, 20e-6), "100 Gb/s": (100e9 / 8, 10e-6)}  # ASSUMED: line rate, TCP hop latency


def step_ms(compute_ms, parameters, p, bandwidth, latency):
    if p == 1:
        return compute_ms
    data = 4 * (parameters + 1)
    ring = 2 * (p - 1) / p * data / bandwidth + 2 * (p - 1) * latency
    host = 4 * data / PCIE
    return compute_ms + (ring + host) * 1e3


def table(title, ranks, bandwidth, latency):
    print(f"\n{title}\n")
    print("| model | compute ms/step | " + " | ".join(f"p = {p}" for p in ranks) + " |")
    print("|---|---|" + "---|" * len(ranks))
    for name, parameters, compute in MODELS:
        compute = compute if compute is not None else GPT2_COMPUTE_MS
        cells = []
        for p in ranks:
            step = step_ms(compute, parameters, p, bandwidth, latency)
            cells.append(f"{step:.1f} ms, {compute / step:.0%}")
        print(f"| {name} | {compute:.1f} | " + " | ".join(cells) + " |")


print(f"GPT-2-small-sized compute per step: {GPT2_TOKENS * GPT2_FLOP_PER_TOKEN / 1e12:.2f} TFLOP, {GPT2_COMPUTE_MS:.0f} ms at {GPU_FLOPS / 1e12:.0f} TFLOP/s")
table("One box, p GPUs (step time, efficiency)", [1, 2, 4, 8], *IN_BOX)
for link, (bandwidth, latency) in LINKS.items():
    table(f"p boxes on {link} (one GPU each)", [2, 4, 8, 16], bandwidth, latency)
