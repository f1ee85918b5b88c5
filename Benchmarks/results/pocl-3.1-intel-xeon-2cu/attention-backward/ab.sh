#!/bin/bash
# Interleaved A/B rounds of `clmodel bench gpt`: OLD (graph-level decomposition of attention's
# backward) against NEW (fused attention backward); each round runs both, in alternating order.
# Usage: ab.sh OLD_CLMODEL NEW_CLMODEL DATASET ROUNDS STEPS > raw.txt
old=$1 new=$2 dataset=$3 rounds=$4 steps=$5
for r in $(seq 1 "$rounds"); do
    if [ $((r % 2)) -eq 1 ]; then order="old new"; else order="new old"; fi
    for which in $order; do
        bin=$old; [ "$which" = new ] && bin=$new
        echo "round $r $which: $("$bin" bench gpt --dataset "$dataset" --steps "$steps" --warmup 30)"
    done
done
