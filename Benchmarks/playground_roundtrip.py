#!/usr/bin/env python3
"""Round trips of the playground's JSON API on a running `clmodel serve` (one keep-alive
connection, like the page's): an MLP edit (set one output weight: HTTP request → device forward
pass → view JSON back) and a GPT attention-map refresh (/api/gpt/inspect), interleaved round by
round so both see the same machine load. Prints the median and 90th percentile of each.

Usage: playground_roundtrip.py PORT [ROUNDS] [PROMPT]
"""
import http.client
import json
import statistics
import sys
import time

port = int(sys.argv[1])
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 200
prompt = sys.argv[3] if len(sys.argv) > 3 else "emma"
connection = http.client.HTTPConnection("127.0.0.1", port)


def post(path, body):
    started = time.perf_counter()
    connection.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    response = connection.getresponse()
    data = response.read()
    elapsed = (time.perf_counter() - started) * 1000
    if response.status != 200:
        sys.exit(f"{path}: HTTP {response.status} {data[:200]!r}")
    return elapsed, json.loads(data)


for _ in range(5):  # warm-up: plans compiled, caches filled
    post("/api/mlp/view", {"context": "emm"})
    post("/api/gpt/inspect", {"prompt": prompt})
edits, maps = [], []
for round in range(rounds):
    elapsed, answer = post("/api/mlp/set", {"context": "emm", "name": "output.weight", "index": [1, round % 7], "value": (round % 5) - 2.0})
    edits.append(elapsed)
    elapsed, answer = post("/api/gpt/inspect", {"prompt": prompt})
    maps.append(elapsed)
post("/api/mlp/reset", {})


def summary(name, values):
    values = sorted(values)
    p90 = values[int(0.9 * (len(values) - 1))]
    print(f"{name}: {len(values)} round trips, median {statistics.median(values):.2f} ms, p90 {p90:.2f} ms, min {values[0]:.2f} ms, max {values[-1]:.2f} ms")


summary("MLP edit (set weight → forward → view)", edits)
summary(f"GPT attention maps ({len(answer['tokens'])} tokens, {len(answer['maps'])} layers × {len(answer['maps'][0])} heads)", maps)
