#!/usr/bin/env bash
# Every benchmark on two OpenCL drivers of one machine, in alternating rounds (pocl, then Intel's
# CPU runtime, then pocl again …), so machine noise hits both alike. Writes each run's JSON report
# or log into OUT_DIR/<driver>/ and prints, per benchmark case, each variant's median time on
# each driver and which variant is fastest there (Benchmarks/summarise_drivers.py).
#
#   eval "$(bash .ci/install-intel-opencl ~/intel-opencl)"
#   bash Benchmarks/drivers_side_by_side.sh OUT_DIR [ROUNDS]        (default 2 rounds)
#
# Drivers are chosen with CLGRAPH_DEVICE: "portable" (pocl) and "intel". Each keeps its own
# CLGRAPH_CACHE_DIR (OUT_DIR/<driver>/cache), so peaks and tuning stay per driver.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: drivers_side_by_side.sh OUT_DIR [ROUNDS]}
rounds=${2:-2}
swift build -c release >&2
bin=.build/release
mkdir -p "$out"

run_round() {  # DRIVER ROUND
  local driver=$1 round=$2 dir="$out/$1"
  mkdir -p "$dir/cache"
  export CLGRAPH_DEVICE=$driver CLGRAPH_CACHE_DIR="$dir/cache"
  "$bin/clbench" attention --seqs 256,1024 --quiet --format json > "$dir/attention-r$round.json"
  "$bin/clbench" matmul --sizes 256,512,1024,2048 --quiet --format json > "$dir/matmul-r$round.json"
  "$bin/clbench" matmul --model mlp --quiet --format json > "$dir/matmul-mlp-r$round.json"
  "$bin/clbench" layernorm --quiet --format json > "$dir/layernorm-r$round.json"
  "$bin/clbench" quant --batch 1,8 --quiet --format json > "$dir/quant-r$round.json"
  "$bin/clmodel" bench mlp > "$dir/bench-mlp-r$round.log" 2>&1
  "$bin/clmodel" bench gpt > "$dir/bench-gpt-r$round.log" 2>&1
  "$bin/clmodel" bench gpt --decode --decode-batch 1,16 > "$dir/decode-r$round.log" 2>&1
  unset CLGRAPH_DEVICE CLGRAPH_CACHE_DIR
}

for round in $(seq 1 "$rounds"); do
  for driver in portable intel; do
    echo "round $round: $driver" >&2
    run_round "$driver" "$round"
  done
done
python3 Benchmarks/summarise_drivers.py "$out"
