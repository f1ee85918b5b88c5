#!/usr/bin/env bash
# Interleaved rounds: one process with the global batch, then two ranks (TCP on loopback) with half
# of it each, for the names and the Shakespeare GPT; logs into this folder.
set -euo pipefail
cd "$(dirname "$0")"
clmodel=${CLMODEL:-../../../../.build-mpi/release/clmodel}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpirun=(mpirun -np 2 --oversubscribe --mca btl tcp,self --mca btl_tcp_if_include lo)
stamp=$(date -u +%Y-%m-%d-%H%M)
names=(train gpt --steps 300 --log-every 100 --eval-every 300 --dropout 0 --quiet --checkpoint /tmp/mpi-measure.safetensors)
shakespeare=(train gpt --dataset shakespeare --steps 60 --log-every 20 --eval-every 60 --quiet --checkpoint /tmp/mpi-measure.safetensors)
for round in ${ROUNDS:-1 2}; do
  "$clmodel" "${names[@]}" --batch 32 > "names-single-$stamp-$round.log" 2>&1
  "${mpirun[@]}" "$clmodel" "${names[@]}" --batch 16 --distributed > "names-2ranks-$stamp-$round.log" 2>&1
  "$clmodel" "${shakespeare[@]}" --batch 12 > "shakespeare-single-$stamp-$round.log" 2>&1
  "${mpirun[@]}" "$clmodel" "${shakespeare[@]}" --batch 6 --distributed > "shakespeare-2ranks-$stamp-$round.log" 2>&1
done
