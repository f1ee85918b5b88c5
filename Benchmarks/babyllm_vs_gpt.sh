#!/bin/sh
# babyLLM against the GPT on Tiny Shakespeare (the small config, ~0.8M parameters each):
#   1. training ms/step, `clmodel bench` of each in interleaved rounds (gpt, babyllm, gpt, ...);
#   2. training runs back to back with the same wall-clock budget (--time-limit) and the same
#      schedule (--steps, default 2000: the GPT's Shakespeare default), so the faster model
#      takes more steps of it; no run's step count rests on a noisy bench median;
#   3. sampling tokens/s and a sample of text from each checkpoint.
# `uptime` goes before every run (the machine is shared: load moves the times).
# Usage: Benchmarks/babyllm_vs_gpt.sh [CLMODEL]; env BUDGET (seconds, 180), ROUNDS (3, 0: no bench),
#        STEPS (2000), OUT.
set -eu
CLMODEL=${1:-.build/release/clmodel}
OUT=${OUT:-Benchmarks/results/pocl-3.1-intel-xeon-2cu/babyllm}
BUDGET=${BUDGET:-180}
ROUNDS=${ROUNDS:-3}
mkdir -p "$OUT"
[ "$ROUNDS" -gt 0 ] && : > "$OUT/bench-interleaved.txt"
for round in $(seq 1 "$ROUNDS"); do
    for model in gpt babyllm; do
        echo "== round $round $model | $(uptime)" >> "$OUT/bench-interleaved.txt"
        "$CLMODEL" bench "$model" --dataset shakespeare --steps 100 --warmup 20 >> "$OUT/bench-interleaved.txt" 2>&1
    done
done
STEPS=${STEPS:-2000}
for model in gpt babyllm; do
    steps=$STEPS
    { echo "uptime: $(uptime)"; echo "command: $CLMODEL train $model --dataset shakespeare --steps $steps --time-limit $BUDGET --log-every 100 --eval-every 500 --checkpoint $OUT/$model.safetensors --loss-plot $OUT/$model-loss.svg --quiet"; } > "$OUT/train-$model.log"
    /usr/bin/time -v "$CLMODEL" train "$model" --dataset shakespeare --steps "$steps" --time-limit "$BUDGET" --log-every 100 --eval-every 500 \
        --checkpoint "$OUT/$model.safetensors" --loss-plot "$OUT/$model-loss.svg" --quiet >> "$OUT/train-$model.log" 2>&1
done
for model in gpt babyllm; do
    { echo "uptime: $(uptime)"; echo "command: $CLMODEL sample $model --checkpoint $OUT/$model.safetensors --count 1 --length 500 --seed 1"; } > "$OUT/sample-$model.txt"
    "$CLMODEL" sample "$model" --checkpoint "$OUT/$model.safetensors" --count 1 --length 500 --seed 1 >> "$OUT/sample-$model.txt" 2>&1
done
"$CLMODEL" inspect babyllm --checkpoint "$OUT/babyllm.safetensors" --prompt "ROMEO: What say" > "$OUT/inspect-babyllm.txt" 2>&1
