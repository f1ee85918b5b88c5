#!/usr/bin/env bash
# The all-reduce timed alone (clmodel's probe after training: 21 rounds, each after a barrier) for
# three gradient sizes, over TCP on loopback and over Open MPI's shared-memory transport (vader),
# interleaved; a few training steps each, only the probe line matters.
set -euo pipefail
cd "$(dirname "$0")"
clmodel=${CLMODEL:-../../../../.build-mpi/release/clmodel}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
stamp=$(date -u +%Y-%m-%d-%H%M)
common=(train gpt --steps 3 --log-every 3 --eval-every 3 --dropout 0 --quiet --checkpoint /tmp/mpi-probe.safetensors --distributed)
for round in ${ROUNDS:-1 2 3}; do
  for transport in tcp vader; do
    if [ $transport = tcp ]; then mca=(--mca btl tcp,self --mca btl_tcp_if_include lo); else mca=(--mca btl vader,self); fi
    for size in names shakespeare wide; do
      case $size in
        names) model=(--batch 16) ;;
        shakespeare) model=(--dataset shakespeare --batch 6) ;;
        wide) model=(--layers 8 --heads 8 --embedding 256 --batch 2) ;;
      esac
      echo "$transport $size $(mpirun -np 2 --oversubscribe "${mca[@]}" "$clmodel" "${common[@]}" "${model[@]}" 2>&1 | grep '^all-reduce:')"
    done
  done
done | tee "probe-$stamp.txt"
