#!/usr/bin/env bash
# GPT training step time, CLGraph (clmodel bench gpt) vs PyTorch CPU (peers/torch_gpt.py), in
# interleaved rounds on the same machine (noise hits both alike); prints each round and the median
# of the per-round ratios. Needs a release build and torch importable.
#   bash Benchmarks/train_gpt_vs_torch.sh names [DATA [rounds] [steps] [torch threads]]
#   bash Benchmarks/train_gpt_vs_torch.sh shakespeare
# DATA defaults to the repository's copy of the data set (Sources/Models/Data).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dataset=${1:?usage: $0 names|shakespeare [DATA [rounds] [steps] [threads]]}
case "$dataset" in
  names) default_data=$here/../Sources/Models/Data/names ;;
  *) default_data=$here/../Sources/Models/Data/tinyshakespeare/input.txt ;;
esac
data=${2:-$default_data}
rounds=${3:-5}
steps=${4:-200}
threads=${5:-2}
clmodel=${CLMODEL:-$here/../.build/release/clmodel}
ratios=()
for round in $(seq 1 "$rounds"); do
  ours=$("$clmodel" bench gpt --dataset "$dataset" --data "$data" --steps "$steps" | sed -E 's/.*median ([0-9.]+) ms.*/\1/')
  theirs=$(python3 "$here/peers/torch_gpt.py" --dataset "$dataset" --data "$data" --steps "$steps" --threads "$threads" --time-only | sed -E 's/.*median ([0-9.]+) ms.*/\1/')
  ratio=$(python3 -c "print(f'{$ours / $theirs:.3f}')")
  ratios+=("$ratio")
  echo "round $round: clgraph $ours ms/step, torch ($threads threads) $theirs ms/step, ratio $ratio"
done
python3 -c "import statistics,sys; print('median ratio (clgraph / torch):', statistics.median(map(float, sys.argv[1:])))" "${ratios[@]}"
