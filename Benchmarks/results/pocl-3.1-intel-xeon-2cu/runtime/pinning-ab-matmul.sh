#!/bin/bash
# A/B: pocl worker threads pinned (POCL_AFFINITY=1) or not, same shapes, alternating per shape.
shapes=("256 256 256" "512 512 512" "1024 1024 1024" "2048 2048 2048" "128 512 144 -b" "128 27 512 -b" "128 512 27" "27 512 128 -a" "128 144 512" "512 144 128 -a")
for r in $(seq 1 ${1:-3}); do
  for s in "${shapes[@]}"; do
    set -- $s; f=""; [ "$4" = "-b" ] && f="--transpose-b"; [ "$4" = "-a" ] && f="--transpose-a"
    it=200; [ $1 -ge 512 ] && it=20
    for e in "POCL_AFFINITY=0" "POCL_AFFINITY=1"; do
      t=$(env $e .build/release/clbench matmul --m $1 --n $2 --k $3 $f --variant 2 --no-tuned --iters $it --quiet --format csv 2>&1 | tail -1 | cut -d, -f7)
      echo "round $r ${1}x${2}x${3}$4 $e $t"
    done
  done
done
