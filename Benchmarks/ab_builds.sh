#!/usr/bin/env bash
# Two builds of CLGraph (two checkouts, each with a release build) on the same machine, in
# interleaved rounds (A then B in odd rounds, B then A in even ones, so noise and order hit both alike): `clmodel bench mlp`, `clmodel bench
# gpt` (names and Shakespeare) and the fused attention case of `clbench attention --seq 256`.
# Prints every round and, per benchmark, the median over rounds of B's time divided by A's.
#   bash Benchmarks/ab_builds.sh CHECKOUT_A CHECKOUT_B [ROUNDS]      (default 3 rounds)
#   AB_BENCHMARKS="gpt-names gpt-shakespeare" bash Benchmarks/ab_builds.sh …   (a subset; clmodel only needs no clbench build)
set -euo pipefail
a=${1:?usage: $0 CHECKOUT_A CHECKOUT_B [ROUNDS]}
b=${2:?usage: $0 CHECKOUT_A CHECKOUT_B [ROUNDS]}
rounds=${3:-3}
benchmarks=${AB_BENCHMARKS:-mlp gpt-names gpt-shakespeare attention}
ms() { sed -nE 's/.*median ([0-9.]+) ms.*/\1/p' | head -1; }
attention_ms() {  # the automatic fused variant's median, from the JSON report
  python3 -c 'import json,sys; r=json.load(sys.stdin); r=r[0] if isinstance(r,list) else r
cases=[c for c in r["results"] if c["variant"].startswith("fused-") and "regblocked" in c["variant"]] or [c for c in r["results"] if c["variant"].startswith("fused-")]
print(min(c["median_ms"] for c in cases))'
}
declare -A ratios
for round in $(seq 1 "$rounds"); do
  for bench in $benchmarks; do
    declare -A t
    order="a b"; [ $((round % 2)) -eq 0 ] && order="b a"
    for side in $order; do
      dir=${!side}
      case $bench in
        mlp) t[$side]=$("$dir/.build/release/clmodel" bench mlp 2>&1 | ms) ;;
        gpt-names) t[$side]=$("$dir/.build/release/clmodel" bench gpt --dataset names 2>&1 | ms) ;;
        gpt-shakespeare) t[$side]=$("$dir/.build/release/clmodel" bench gpt --dataset shakespeare 2>&1 | ms) ;;
        attention) t[$side]=$("$dir/.build/release/clbench" attention --seq 256 --quiet --format json | attention_ms) ;;
      esac
    done
    ratio=$(python3 -c "print(f'{${t[b]} / ${t[a]}:.3f}')")
    ratios[$bench]="${ratios[$bench]:-} $ratio"
    echo "round $round $bench: A ${t[a]} ms, B ${t[b]} ms, B/A $ratio"
  done
done
for bench in $benchmarks; do
  python3 -c "import statistics,sys; print('$bench median B/A:', statistics.median(map(float, sys.argv[1:])))" ${ratios[$bench]}
done
