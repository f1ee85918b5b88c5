#!/bin/sh
# babyLLM against the GPT on Tiny Shakespeare (the small config, ~0.8M parameters each):
#   1. training ms/step, `clmodel bench` of each in interleaved rounds (gpt, babyllm, gpt, ...);
#   2. training runs back to back, each with the same wall-clock budget (--time-limit) and
#      --steps set to what its measured ms/step fits in that budget (so each schedule ends);
#   3. sampling tokens/s and a sample of text from each checkpoint.
# `uptime` goes before every run (the machine is shared: load moves the times).
# Usage: Benchmarks/babyllm_vs_gpt.sh [CLMODEL]; env BUDGET (seconds, 180), ROUNDS (3),
#        GPT_STEPS and BABY_STEPS (default: the budget over the bench median), OUT.
set -eu
CLMODEL=${1:-.build/release/clmodel}
OUT=${OUT:-Benchmarks/results/pocl-3.1-intel-xeon-2cu/babyllm}
BUDGET=${BUDGET:-180}
ROUNDS=${ROUNDS:-3}
mkdir -p "$OUT"
: > "$OUT/bench-interleaved.txt"
for round in $(seq 1 "$ROUNDS"); do
    for model in gpt babyllm; do
        echo "== round $round $model | $(uptime)" >> "$OUT/bench-interleaved.txt"
        "$CLMODEL" bench "$model" --dataset shakespeare --steps 100 --warmup 20 >> "$OUT/bench-interleaved.txt" 2>&1
    done
done
median() { grep -A1 "round .* $1 |" "$OUT/bench-interleaved.txt" | sed -n 's/.*median \([0-9.]*\) ms\/step.*/\1/p' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
GPT_MS=$(median gpt); BABY_MS=$(median babyllm)
GPT_STEPS=${GPT_STEPS:-$(awk -v b="$BUDGET" -v ms="$GPT_MS" 'BEGIN {print int(0.9 * b * 1000 / ms)}')}
BABY_STEPS=${BABY_STEPS:-$(awk -v b="$BUDGET" -v ms="$BABY_MS" 'BEGIN {print int(0.9 * b * 1000 / ms)}')}
echo "bench medians: gpt $GPT_MS ms/step, babyllm $BABY_MS ms/step; steps: gpt $GPT_STEPS, babyllm $BABY_STEPS; budget $BUDGET s" | tee "$OUT/plan.txt"
for model in gpt babyllm; do
    if [ "$model" = gpt ]; then steps=$GPT_STEPS; else steps=$BABY_STEPS; fi
    { echo "uptime: $(uptime)"; echo "command: $CLMODEL train $model --dataset shakespeare --steps $steps --time-limit $BUDGET --log-every 100 --eval-every 500 --checkpoint $OUT/$model.safetensors --loss-plot $OUT/$model-loss.svg --quiet"; } > "$OUT/train-$model.log"
    /usr/bin/time -v "$CLMODEL" train "$model" --dataset shakespeare --steps "$steps" --time-limit "$BUDGET" --log-every 100 --eval-every 500 \
        --checkpoint "$OUT/$model.safetensors" --loss-plot "$OUT/$model-loss.svg" --quiet >> "$OUT/train-$model.log" 2>&1
done
for model in gpt babyllm; do
    { echo "uptime: $(uptime)"; echo "command: $CLMODEL sample $model --checkpoint $OUT/$model.safetensors --count 1 --length 500 --seed 1"; } > "$OUT/sample-$model.txt"
    "$CLMODEL" sample "$model" --checkpoint "$OUT/$model.safetensors" --count 1 --length 500 --seed 1 >> "$OUT/sample-$model.txt" 2>&1
done
"$CLMODEL" inspect babyllm --checkpoint "$OUT/babyllm.safetensors" --prompt "ROMEO: What say" > "$OUT/inspect-babyllm.txt" 2>&1
