#!/usr/bin/env bash
# Greedy KV-cache decoding, CLGraph (clmodel bench gpt --decode) vs PyTorch CPU (peers/torch_gpt.py
# --decode) with 1 and 2 threads, in interleaved rounds on the same machine (noise hits all alike).
# Each round runs each side once (30 timed repetitions each, their median); prints every round and
# the median over rounds of CLGraph's tokens/s divided by PyTorch's faster setting in that round.
# Needs a release build and torch importable.
#   bash Benchmarks/decode_gpt_vs_torch.sh names|shakespeare [rounds] [batch]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dataset=${1:?usage: $0 names|shakespeare [rounds] [batch]}
rounds=${2:-5}
batch=${3:-1}
clmodel=${CLMODEL:-$here/../.build/release/clmodel}
ratios=()
for round in $(seq 1 "$rounds"); do
  ours=$("$clmodel" bench gpt --dataset "$dataset" --decode --decode-batch "$batch" | sed -E 's/.*median ([0-9.]+) tokens.*/\1/')
  one=$(python3 "$here/peers/torch_gpt.py" --dataset "$dataset" --decode 1000 --decode-batch "$batch" --threads 1 | sed -E 's/.*median ([0-9.]+) tokens.*/\1/')
  two=$(python3 "$here/peers/torch_gpt.py" --dataset "$dataset" --decode 1000 --decode-batch "$batch" --threads 2 | sed -E 's/.*median ([0-9.]+) tokens.*/\1/')
  ratio=$(python3 -c "print(f'{$ours / max($one, $two):.3f}')")
  ratios+=("$ratio")
  echo "round $round: clgraph $ours tokens/s, torch $one (1 thread) / $two (2 threads) tokens/s, ratio to the faster $ratio"
done
python3 -c "import statistics,sys; print('median ratio (clgraph / faster torch, tokens/s):', statistics.median(map(float, sys.argv[1:])))" "${ratios[@]}"
