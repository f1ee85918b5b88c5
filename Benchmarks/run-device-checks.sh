#!/usr/bin/env bash
# Runs CLGraph's conformance suite and benchmarks on one OpenCL device, from the bundle that
# Benchmarks/make-gpu-bundle.sh makes (or from a build folder given as BIN).
#
#   bash run-device-checks.sh RESULTS_DIR [DEVICE]
#
# DEVICE is an index or part of a device name, as `clbench devices` lists them (default: the
# first GPU, else the first device). Where the driver installed no vendor file, point the loader
# at one: `echo libnvidia-opencl.so.1 > /tmp/v/nvidia.icd; export OCL_ICD_VENDORS=/tmp/v`.
# Every step's output goes to RESULTS_DIR; a failing step is reported and the next one runs.
# Exits 1 when any step failed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${BIN:-$here/bin}
results=${1:?usage: run-device-checks.sh RESULTS_DIR [DEVICE]}
mkdir -p "$results"
export CLGRAPH_CACHE_DIR=${CLGRAPH_CACHE_DIR:-$results/cache}
if [ -n "${2:-}" ]; then export CLGRAPH_DEVICE=$2; fi
failed=0
step() {
  local name=$1; shift
  echo "== $name: $*"
  local start=$SECONDS
  if "$@" > "$results/$name.log" 2>&1; then
    echo "   ok ($((SECONDS - start)) s)"
  else
    echo "   FAILED (exit $?, $((SECONDS - start)) s); last lines:"
    tail -n 15 "$results/$name.log" | sed 's/^/   /'
    failed=1
  fi
}
step devices "$bin/clbench" devices
step peak sh -c '"$0" peak --format json > "$1"' "$bin/clbench" "$results/peak.json"
step conformance "$bin/clbench" conformance
step matmul "$bin/clbench" matmul --sizes 256,512,1024,2048,4096 --output "$results/matmul.json"
step attention "$bin/clbench" attention --seqs 256,1024 --output "$results/attention.json"
step layernorm "$bin/clbench" layernorm --cols 768,1024,4096 --all-device-classes --output "$results/layernorm.json"
step quant "$bin/clbench" quant --batch 1,8,32 --output "$results/quant.json"
step rowops "$bin/clbench" rowops --output "$results/rowops.json"
step runtime sh -c '"$0" runtime --format json > "$1"' "$bin/clbench" "$results/runtime.json"
step bench-mlp "$bin/clmodel" bench mlp
step bench-gpt "$bin/clmodel" bench gpt
exit $failed
