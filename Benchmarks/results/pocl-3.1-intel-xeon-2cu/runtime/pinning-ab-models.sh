#!/bin/bash
# Interleaved A/B: POCL_AFFINITY=0 (unpinned) vs CLGraph's default (pinned).
for r in $(seq 1 ${1:-3}); do
  for e in "POCL_AFFINITY=0" "CLGRAPH_DEFAULT=1"; do
    echo "round $r $e model-mlp $(env $e .build/release/clbench matmul --model mlp --iters 100 --quiet --format csv 2>&1 | awk -F, 'NR>1{printf "%.4f/%.2f ", $7, $14}')"
    echo "round $r $e attention256 $(env $e .build/release/clbench attention --seq 256 --quiet --format csv 2>&1 | awk -F, 'NR>1{printf "%s:%s ", $3, $7}')"
    echo "round $r $e bench-mlp $(env $e .build/release/clmodel bench mlp --data ../shared/data/names --steps 300 2>&1 | tail -1 | sed -E 's/.*median ([0-9.]+) ms.*/\1/')"
    echo "round $r $e bench-gpt-names $(env $e .build/release/clmodel bench gpt --dataset names --data ../shared/data/names --steps 100 2>&1 | tail -1 | sed -E 's/.*median ([0-9.]+) ms.*/\1/')"
  done
done
