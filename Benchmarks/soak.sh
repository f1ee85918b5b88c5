#!/usr/bin/env bash
# Soak run: long training with the process's resident memory and the device's allocated bytes
# logged at every log line (clmodel --log-memory); both should stay flat once the first steps
# have allocated the plans. Prints each run's log and a summary line per run.
#
#   bash Benchmarks/soak.sh [MLP_STEPS] [GPT_STEPS] [OUT_DIR]     (default 20000 2000 .build/soak)
set -euo pipefail
cd "$(dirname "$0")/.."
mlp_steps=${1:-20000}
gpt_steps=${2:-2000}
out=${3:-.build/soak}
mkdir -p "$out"
swift build -c release --product clmodel >&2
clmodel=.build/release/clmodel

summarise() {  # LOG: first, last and largest rss_mib and device_mib over the logged steps
  awk -F' [|] ' '
    /^step [0-9]+ .*rss_mib/ {
      for (i = 1; i <= NF; i++) {
        split($i, kv, " ")
        if (kv[1] == "step") step = kv[2]
        if (kv[1] == "rss_mib") rss = kv[2]
        if (kv[1] == "device_mib") dev = kv[2]
      }
      if (n == 0) { rss0 = rss; dev0 = dev; step0 = step }
      if (rss > rssmax) rssmax = rss
      if (dev > devmax) devmax = dev
      n++; rss1 = rss; dev1 = dev; step1 = step
    }
    END { printf "samples %d (steps %d..%d): rss_mib first %s last %s max %s; device_mib first %s last %s max %s\n", n, step0, step1, rss0, rss1, rssmax, dev0, dev1, devmax }
  ' "$1"
}

$clmodel train mlp --steps "$mlp_steps" --log-every 1000 --eval-every "$mlp_steps" --log-memory --quiet \
  --checkpoint "$out/soak-mlp.safetensors" | tee "$out/soak-mlp.log"
$clmodel train gpt --steps "$gpt_steps" --log-every 100 --eval-every "$gpt_steps" --log-memory --quiet \
  --checkpoint "$out/soak-gpt.safetensors" | tee "$out/soak-gpt.log"
echo "mlp: $(summarise "$out/soak-mlp.log")"
echo "gpt: $(summarise "$out/soak-gpt.log")"
