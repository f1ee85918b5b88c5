#!/usr/bin/env bash
# Names-MLP training step time, CLGraph (clmodel bench mlp) vs PyTorch CPU (peers/torch_mlp.py),
# in interleaved rounds on the same machine (noise hits both alike); prints each round and the
# median of the per-round ratios. Needs a release build and torch importable.
#   bash Benchmarks/train_mlp_vs_torch.sh [DATA_DIR [rounds] [steps]]   (DATA_DIR default: the repository's names splits)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
data=${1:-$here/../Sources/Models/Data/names}
rounds=${2:-5}
steps=${3:-500}
clmodel=${CLMODEL:-$here/../.build/release/clmodel}
ratios=()
for round in $(seq 1 "$rounds"); do
  ours=$("$clmodel" bench mlp --data "$data" --steps "$steps" | sed -E 's/.*median ([0-9.]+) ms.*/\1/')
  theirs=$(python3 "$here/peers/torch_mlp.py" --data "$data" --steps $((steps + 100)) --time-only | sed -E 's/.*median ([0-9.]+) ms.*/\1/')
  ratio=$(python3 -c "print(f'{$ours / $theirs:.3f}')")
  ratios+=("$ratio")
  echo "round $round: clgraph $ours ms/step, torch $theirs ms/step, ratio $ratio"
done
python3 -c "import statistics,sys; print('median ratio (clgraph / torch):', statistics.median(map(float, sys.argv[1:])))" "${ratios[@]}"
