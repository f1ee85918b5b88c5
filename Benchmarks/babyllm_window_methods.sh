#!/bin/sh
# The causal windowed means of babyLLM by band matrix and by prefix sums: `clmodel bench babyllm`
# at the Shakespeare training shapes (batch 12, block 64, 384 neurons, 7 windows), the two methods
# alternating in each round; `uptime` before each run.
# Usage: Benchmarks/babyllm_window_methods.sh [CLMODEL]; env ROUNDS (3), OUT.
set -eu
CLMODEL=${1:-.build/release/clmodel}
OUT=${OUT:-Benchmarks/results/pocl-3.1-intel-xeon-2cu/babyllm}
ROUNDS=${ROUNDS:-3}
mkdir -p "$OUT"
: > "$OUT/window-methods.txt"
for round in $(seq 1 "$ROUNDS"); do
    for method in band cumsum; do
        echo "== round $round $method | $(uptime)" >> "$OUT/window-methods.txt"
        "$CLMODEL" bench babyllm --dataset shakespeare --window-method "$method" --steps 100 --warmup 20 >> "$OUT/window-methods.txt" 2>&1
    done
done
cat "$OUT/window-methods.txt"
