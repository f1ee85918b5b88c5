#!/bin/sh
# The row-norm experiment: the GPT with layernorm, rmsnorm, proportions and no norm, the same
# steps and seeds each, on Tiny Shakespeare (the small config) and on the names.
# Runs one after the other (seed-major, the four norms interleaved within a seed, so machine load
# drifts over all of them alike). Logs go to $OUT (default: the results folder of this machine kind).
# Usage: Benchmarks/norms_experiment.sh [CLMODEL] ; env STEPS_SH (600), STEPS_NAMES (1000), SEEDS ("1 2 3").
set -eu
CLMODEL=${1:-.build/release/clmodel}
OUT=${OUT:-Benchmarks/results/pocl-3.1-intel-xeon-2cu/norms}
STEPS_SH=${STEPS_SH:-600}
STEPS_NAMES=${STEPS_NAMES:-1000}
SEEDS=${SEEDS:-"1 2 3"}
NORMS=${NORMS:-"layernorm rmsnorm proportions none"}
DATASETS=${DATASETS:-"shakespeare names"}
TMP=${TMPDIR:-/tmp}/norms-$$
mkdir -p "$OUT" "$TMP"
for dataset in $DATASETS; do
    if [ "$dataset" = shakespeare ]; then steps=$STEPS_SH; else steps=$STEPS_NAMES; fi
    for seed in $SEEDS; do
        for norm in $NORMS; do
            log="$OUT/$dataset-$norm-seed$seed.log"
            echo "== $dataset $norm seed $seed ($steps steps) -> $log"
            "$CLMODEL" train gpt --dataset "$dataset" --norm "$norm" --seed "$seed" --steps "$steps" \
                --log-every 50 --eval-every 100 --checkpoint "$TMP/$dataset-$norm-$seed.safetensors" > "$log" 2>&1 \
                || echo "exit $? (see $log)"
        done
    done
done
rm -rf "$TMP"
