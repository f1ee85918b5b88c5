#!/usr/bin/env python3
"""The playground in a real browser: headless Chromium, driven through the DevTools protocol over
a pipe (--remote-debugging-pipe, no Python packages needed), opens the page `clmodel serve` serves,
draws a connection with Ctrl+click, drags a circle, moves the temperature slider, checks that the
bars changed, and saves a screenshot of each view.

Usage: playground_browser_test.py CLMODEL MLP_CHECKPOINT GPT_CHECKPOINT OUTPUT_FOLDER
Exit status 0 when every check passed, 1 with the failed check on stderr otherwise.
"""
import base64
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


class DevTools:
    """One page of a headless Chromium, over the DevTools pipe (JSON messages ended by a NUL byte)."""

    def __init__(self, browser):
        self.browser = browser
        self.to_browser, self.from_browser = os.pipe(), os.pipe()
        self.user_data = tempfile.mkdtemp(prefix="playground-chromium-")
        self.log = open(os.path.join(self.user_data, "chromium.log"), "w")
        # Chromium reads commands from fd 3 and writes answers to fd 4: bash puts the pipes there
        # (moved above 9 first, so the redirections never close what they set up)
        read_end, write_end = (fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (self.to_browser[0], self.from_browser[1]))
        self.process = subprocess.Popen(
            ["/bin/bash", "-c", f'exec "$0" "$@" 3<&{read_end} 4>&{write_end} {read_end}<&- {write_end}>&-',
             browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
             "--remote-debugging-pipe", "--window-size=1500,1000", "--user-data-dir=" + self.user_data, "about:blank"],
            pass_fds=(read_end, write_end), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.log)
        for fd in (self.to_browser[0], self.from_browser[1], read_end, write_end):
            os.close(fd)
        self.buffer = b""
        self.next_id = 0
        self.session = None
        self.events = []

    def _read_message(self, deadline):
        while b"\0" not in self.buffer:
            if time.time() > deadline:
                fail("the browser did not answer in time")
            chunk = os.read(self.from_browser[0], 1 << 16)
            if not chunk:
                fail("the browser closed the DevTools pipe")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method, params=None, session=True, timeout=30):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self.to_browser[1], json.dumps(message).encode() + b"\0")
        deadline = time.time() + timeout
        while True:
            answer = self._read_message(deadline)
            if answer.get("id") == self.next_id:
                if "error" in answer:
                    fail(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer)

    def open(self, url):
        target = self.call("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True}, session=False)["sessionId"]
        self.call("Page.enable")
        self.call("Runtime.enable")
        self.call("Emulation.setDeviceMetricsOverride", {"width": 1500, "height": 1000, "deviceScaleFactor": 1, "mobile": False})
        self.call("Page.navigate", {"url": url})

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            fail(f"script error in {expression!r}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression, what, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            # (the page may still be loading: an error counts as not yet)
            if self.evaluate(f"(() => {{ try {{ return Boolean({expression}); }} catch (error) {{ return false; }} }})()"):
                return
            time.sleep(0.1)
        fail("timed out waiting for " + what)

    def centre(self, selector):
        box = self.evaluate(f"(() => {{ const r = document.querySelector({json.dumps(selector)}).getBoundingClientRect();"
                            " return [r.left + r.width / 2, r.top + r.height / 2, r.width]; })()")
        return box

    def mouse(self, kind, x, y, modifiers=0, buttons=1):
        self.call("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "buttons": buttons,
                                               "clickCount": 1, "modifiers": modifiers})

    def click(self, x, y, modifiers=0):
        self.mouse("mouseMoved", x, y, modifiers, buttons=0)
        self.mouse("mousePressed", x, y, modifiers)
        self.mouse("mouseReleased", x, y, modifiers, buttons=0)

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        with open(path, "wb") as file:
            file.write(base64.b64decode(data))

    def close(self):
        try:
            self.call("Browser.close", session=False, timeout=5)
        except SystemExit:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.user_data, ignore_errors=True)


MLP_BARS = "Object.fromEntries([...document.querySelectorAll('#mlp-canvas rect.bar')].map(r => [r.dataset.output, Number(r.dataset.probability)]))"
GPT_BARS = "Object.fromEntries([...document.querySelectorAll('#gpt-bars rect.bar')].map(r => [r.dataset.token, Number(r.dataset.probability)]))"


def main():
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        sys.exit(64)
    clmodel, mlp_checkpoint, gpt_checkpoint, output = sys.argv[1:]
    os.makedirs(output, exist_ok=True)
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        fail("no chromium on PATH")
    server = subprocess.Popen([clmodel, "serve", "--checkpoint", mlp_checkpoint, "--checkpoint", gpt_checkpoint, "--port", "0"],
                              stdout=subprocess.PIPE, text=True)
    devtools = None
    try:
        line = server.stdout.readline()
        match = re.search(r"http://[^ ]+/", line)
        if not match:
            fail(f"clmodel serve did not print its address (printed {line!r})")
        url = match.group(0)
        print("serving at", url)
        devtools = DevTools(browser)
        devtools.open(url + "#mlp")
        devtools.wait_for("document.body.dataset.ready === 'mlp'", "the MLP view")

        # Drag a hidden unit: its circle moves.
        x, y, _ = devtools.centre('[data-node="h:0"] circle')
        devtools.mouse("mouseMoved", x, y, buttons=0)
        devtools.mouse("mousePressed", x, y)
        devtools.mouse("mouseMoved", x + 60, y + 25)
        devtools.mouse("mouseReleased", x + 60, y + 25, buttons=0)
        x2, y2, _ = devtools.centre('[data-node="h:0"] circle')
        if abs(x2 - x - 60) > 2 or abs(y2 - y - 25) > 2:
            fail(f"dragging hidden unit 0 from ({x:.0f}, {y:.0f}) by (60, 25) left it at ({x2:.0f}, {y2:.0f})")
        print(f"dragged a hidden unit from ({x:.0f}, {y:.0f}) to ({x2:.0f}, {y2:.0f})")

        # Ctrl+click the last context circle, then the output 'a': a connection is drawn.
        before = devtools.evaluate(MLP_BARS)
        labels = devtools.evaluate("mlp.view.labels")
        target = labels.index("a")
        x, y, _ = devtools.centre('[data-node="c:2"] circle')
        devtools.click(x, y, modifiers=2)
        devtools.wait_for("document.querySelector('[data-node=\"c:2\"]').classList.contains('selected')", "the selected context circle")
        x, y, _ = devtools.centre(f'[data-node="o:{target}"] circle')
        devtools.click(x, y, modifiers=2)
        devtools.wait_for("document.body.dataset.mlpEdits === '1'", "the connection's answer")
        after = devtools.evaluate(MLP_BARS)
        print(f"p('a') {before['a']:.4f} → {after['a']:.4f} after the drawn connection")
        if not after["a"] > before["a"]:
            fail(f"the connection to 'a' did not raise its bar: {before['a']} → {after['a']}")
        devtools.evaluate("document.querySelectorAll('.edge.weight')[0].dispatchEvent(new MouseEvent('mousemove', {clientX: 500, clientY: 300}))")
        devtools.screenshot(os.path.join(output, "mlp-view-after-connection.png"))

        # The GPT view: attention maps drawn; the temperature slider reshapes the bars.
        devtools.evaluate("location.hash = '#gpt'")
        devtools.wait_for("document.body.dataset.ready === 'gpt'", "the GPT view")
        maps = devtools.evaluate("document.querySelectorAll('#gpt-maps canvas').length")
        heads = devtools.evaluate("info.gpt.layers * info.gpt.heads")
        if maps != heads:
            fail(f"{maps} attention maps drawn, the model has {heads} layer × head maps")
        before = devtools.evaluate(GPT_BARS)
        x, y, width = devtools.centre("#gpt-temperature")
        devtools.click(x - width / 2 + 0.9 * width, y)
        devtools.wait_for("Number(document.getElementById('gpt-temperature').value) > 2.3", "the slider to move")
        deadline = time.time() + 20
        while devtools.evaluate(GPT_BARS) == before and time.time() < deadline:
            time.sleep(0.1)
        after = devtools.evaluate(GPT_BARS)
        top = max(before, key=before.get)
        temperature = devtools.evaluate("document.getElementById('gpt-temperature').value")
        print(f"temperature {temperature}: "
              f"p({top!r}) {before[top]:.4f} → {after.get(top, 0):.4f}")
        if not after.get(top, 1) < before[top]:
            fail(f"raising the temperature did not flatten the top bar: {before} → {after}")
        x, y, _ = devtools.centre('#gpt-maps canvas[data-layer="1"][data-head="0"]')
        devtools.click(x, y)
        devtools.mouse("mouseMoved", x + 20, y + 20, buttons=0)
        devtools.evaluate("document.getElementById('gpt-trace-button').click()")
        devtools.wait_for("document.querySelectorAll('#gpt-trace tr').length > 3", "the trace table")
        devtools.screenshot(os.path.join(output, "gpt-view-attention.png"))
        print("screenshots:", os.path.join(output, "mlp-view-after-connection.png"), os.path.join(output, "gpt-view-attention.png"))
        print("PASS: playground browser test")
    finally:
        if devtools:
            devtools.close()
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
