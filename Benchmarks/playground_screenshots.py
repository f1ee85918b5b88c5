#!/usr/bin/env python3
"""Screenshots of the playground and its round trips measured in the browser, on a running
`clmodel serve` with a names MLP and a names GPT: draws a gentle connection (Ctrl+click the last
context circle, then the output "a"), times edits from the click handler to the redrawn SVG, and
the GPT view's attention-map refresh (request → maps painted), then saves a PNG of each view.
Uses the DevTools driver of Tests/Browser/playground_browser_test.py.

Usage: playground_screenshots.py URL OUTPUT_FOLDER [ROUNDS]
"""
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "Tests", "Browser"))
from playground_browser_test import DevTools  # noqa: E402
import shutil  # noqa: E402
import time  # noqa: E402

url, output = sys.argv[1], sys.argv[2]
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 100
os.makedirs(output, exist_ok=True)


def summary(name, values):
    values = sorted(values)
    print(f"{name}: {len(values)} in the browser, median {statistics.median(values):.2f} ms, "
          f"p90 {values[int(0.9 * (len(values) - 1))]:.2f} ms")


devtools = DevTools(shutil.which("chromium"))
try:
    devtools.open(url + "#mlp")
    devtools.wait_for("document.body.dataset.ready === 'mlp'", "the MLP view")
    edits = []
    for i in range(rounds):
        edits.append(devtools.evaluate(
            "(async () => { const t = performance.now(); await mlpEdit('/api/mlp/set', {context: mlpContext(), name: 'output.weight', "
            f"index: [1, {i % 7}], value: {(i % 5) - 2}}}); return performance.now() - t; }})()"))
    devtools.evaluate("mlpEdit('/api/mlp/reset', {context: mlpContext()})")
    summary("MLP edit → forward on the device → SVG redrawn", edits)
    devtools.evaluate("mlpRefresh()")
    time.sleep(0.5)
    devtools.evaluate("(() => { const s = document.getElementById('mlp-strength'); s.value = 0.1; s.dispatchEvent(new Event('input')); })()")
    target = devtools.evaluate("mlp.view.labels").index("a")
    x, y, _ = devtools.centre('[data-node="c:2"] circle')
    devtools.click(x, y, modifiers=2)
    x, y, _ = devtools.centre(f'[data-node="o:{target}"] circle')
    before = devtools.evaluate("mlp.view.probabilities")[target]
    devtools.click(x, y, modifiers=2)
    devtools.wait_for("document.body.dataset.mlpEdits === '1'", "the connection")
    after = devtools.evaluate("mlp.view.probabilities")[target]
    print(f"connection m → a (strength 0.1): p(a) {before:.4f} → {after:.4f}")
    x, y, _ = devtools.centre('[data-node="h:3"] circle')
    devtools.mouse("mouseMoved", x, y, buttons=0)
    devtools.mouse("mousePressed", x, y)
    devtools.mouse("mouseMoved", x - 90, y + 10)
    devtools.mouse("mouseReleased", x - 90, y + 10, buttons=0)
    devtools.evaluate("document.getElementById('mlp-sample').click()")
    devtools.wait_for("document.querySelectorAll('#mlp-samples li').length === 10", "the samples")
    x, y, _ = devtools.centre('.edge.weight[data-output="%d"]' % target)
    devtools.mouse("mouseMoved", x, y, buttons=0)
    devtools.screenshot(os.path.join(output, "mlp-view-after-connection.png"))

    devtools.evaluate("location.hash = '#gpt'")
    devtools.wait_for("document.body.dataset.ready === 'gpt'", "the GPT view")
    devtools.evaluate("(() => { const p = document.getElementById('gpt-prompt'); p.value = 'isabel'; p.dispatchEvent(new Event('input')); })()")
    time.sleep(0.5)
    maps = []
    for i in range(rounds):
        maps.append(devtools.evaluate(
            "(async () => { const t = performance.now(); gpt.inspection = await api('/api/gpt/inspect', {prompt: document.getElementById('gpt-prompt').value}); "
            "drawMaps(); return performance.now() - t; })()"))
    summary(f"GPT attention maps request → {devtools.evaluate('gpt.inspection.maps.length * gpt.inspection.maps[0].length')} maps painted "
            f"({devtools.evaluate('gpt.inspection.tokens.length')} tokens)", maps)
    devtools.evaluate("(() => { const s = document.getElementById('gpt-temperature'); s.value = 0.8; s.dispatchEvent(new Event('input')); })()")
    devtools.evaluate("(() => { const s = document.getElementById('gpt-topp'); s.value = 0.9; s.dispatchEvent(new Event('input')); })()")
    devtools.evaluate("document.querySelector('#gpt-maps canvas[data-layer=\"1\"][data-head=\"2\"]').click()")
    devtools.evaluate("document.getElementById('gpt-generate').click()")
    devtools.wait_for("document.getElementById('gpt-output').textContent.length > 3", "generated text")
    time.sleep(1)
    devtools.evaluate("document.getElementById('gpt-trace-button').click()")
    devtools.wait_for("document.querySelectorAll('#gpt-trace tr').length > 3", "the trace table")
    x, y, w = devtools.centre("#gpt-enlarged")
    devtools.mouse("mouseMoved", x + w * 0.2, y + w * 0.35, buttons=0)
    devtools.screenshot(os.path.join(output, "gpt-view-attention.png"))
    print("screenshots in", output)
finally:
    devtools.close()
