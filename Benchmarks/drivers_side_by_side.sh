#!/usr/bin/env bash
# Every benchmark on two OpenCL drivers of one machine, in alternating rounds (pocl, then Intel's
# CPU runtime, then pocl again …), so machine noise hits both alike. Writes each run's JSON report
# or log into OUT_DIR/<driver>/ and prints, per benchmark case, each variant's median time on
# each driver and which variant is fastest there (Benchmarks/summarise_drivers.py).
#
#   eval "$(bash .ci/install-intel-opencl ~/intel-opencl)"
#   bash Benchmarks/drivers_side_by_side.sh OUT_DIR [ROUNDS]        (default 2 rounds)
#   ONLY="rowops" bash Benchmarks/drivers_side_by_side.sh OUT_DIR 3  (a subset: attention matmul
#       matmul-mlp layernorm rowops quant bench-mlp bench-gpt decode; only clbench is built when
#       the subset needs no clmodel)
#
# Each round also records `uptime` (OUT_DIR/<driver>/uptime-r<ROUND>.txt): the machine is shared.
#
# Drivers are chosen with CLGRAPH_DEVICE: "portable" (pocl) and "intel". Each keeps its own
# CLGRAPH_CACHE_DIR (OUT_DIR/<driver>/cache), so peaks and tuning stay per driver.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: drivers_side_by_side.sh OUT_DIR [ROUNDS]}
rounds=${2:-2}
only=${ONLY:-attention matmul matmul-mlp layernorm rowops quant bench-mlp bench-gpt decode}
wants() { [[ " $only " == *" $1 "* ]]; }
if wants bench-mlp || wants bench-gpt || wants decode; then swift build -c release >&2
else swift build -c release --product clbench >&2; fi
bin=.build/release
mkdir -p "$out"

run_round() {  # DRIVER ROUND
  local driver=$1 round=$2 dir="$out/$1"
  mkdir -p "$dir/cache"
  export CLGRAPH_DEVICE=$driver CLGRAPH_CACHE_DIR="$dir/cache"
  { date -u +%FT%TZ; uptime; } > "$dir/uptime-r$round.txt"
  if wants attention; then "$bin/clbench" attention --seqs 256,1024 --quiet --format json > "$dir/attention-r$round.json"; fi
  if wants matmul; then "$bin/clbench" matmul --sizes 256,512,1024,2048 --quiet --format json > "$dir/matmul-r$round.json"; fi
  if wants matmul-mlp; then "$bin/clbench" matmul --model mlp --quiet --format json > "$dir/matmul-mlp-r$round.json"; fi
  if wants layernorm; then "$bin/clbench" layernorm --quiet --format json > "$dir/layernorm-r$round.json"; fi
  if wants rowops; then "$bin/clbench" rowops --quiet --format json > "$dir/rowops-r$round.json"; fi
  if wants quant; then "$bin/clbench" quant --batch 1,8 --quiet --format json > "$dir/quant-r$round.json"; fi
  if wants bench-mlp; then "$bin/clmodel" bench mlp > "$dir/bench-mlp-r$round.log" 2>&1; fi
  if wants bench-gpt; then "$bin/clmodel" bench gpt > "$dir/bench-gpt-r$round.log" 2>&1; fi
  if wants decode; then "$bin/clmodel" bench gpt --decode --decode-batch 1,16 > "$dir/decode-r$round.log" 2>&1; fi
  uptime >> "$dir/uptime-r$round.txt"
  unset CLGRAPH_DEVICE CLGRAPH_CACHE_DIR
}

for round in $(seq 1 "$rounds"); do
  for driver in portable intel; do
    echo "round $round: $driver" >&2
    run_round "$driver" "$round"
  done
done
python3 Benchmarks/summarise_drivers.py "$out"
