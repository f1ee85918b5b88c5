// The CLGraph playground page: talks to the JSON API of `clmodel serve` (see the README).
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";

async function api(path, body) {
  const started = performance.now();
  const response = await fetch(path, body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const json = await response.json();
  if (!response.ok) throw new Error(json.error ? json.error.message : response.statusText);
  json._milliseconds = performance.now() - started;
  return json;
}

function svgElement(name, attributes, parent) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  if (parent) parent.appendChild(element);
  return element;
}

const tooltip = $("tooltip");
function showTooltip(event, text) {
  tooltip.textContent = text;
  tooltip.style.left = event.clientX + 12 + "px";
  tooltip.style.top = event.clientY + 12 + "px";
  tooltip.hidden = false;
}
function hideTooltip() { tooltip.hidden = true; }

// Colour = sign (blue positive, red negative), thickness = size.
function edgeStyle(weight, scale) {
  const size = Math.min(1, Math.abs(weight) / scale);
  return { stroke: weight >= 0 ? "#2166ac" : "#b2182b", width: 0.3 + 5 * size, opacity: 0.15 + 0.75 * size };
}

// ---------------------------------------------------------------- MLP view
const mlp = {
  view: null, before: null, positions: {}, selected: null, drag: null, edge: null,
  svg: $("mlp-canvas"),
};

function mlpContext() { return $("mlp-context").value; }

function defaultPosition(id, view) {
  const [kind, index] = id.split(":");
  const i = Number(index);
  if (kind === "c") return { x: 70, y: 320 + (i - (view.contextLabels.length - 1) / 2) * 90 };
  if (kind === "h") return { x: 380, y: 20 + i * (600 / (view.units.length - 1 || 1)) };
  return { x: 700, y: 14 + i * (612 / (view.labels.length - 1 || 1)) };
}

function position(id) {
  if (!mlp.positions[id]) mlp.positions[id] = defaultPosition(id, mlp.view);
  return mlp.positions[id];
}

function drawMLP() {
  const view = mlp.view, svg = mlp.svg;
  svg.replaceChildren();
  const edges = svgElement("g", {}, svg), nodes = svgElement("g", {}, svg), bars = svgElement("g", {}, svg);
  const maxDrive = Math.max(1e-6, ...view.units.flatMap((u) => u.drive.map(Math.abs)));
  const maxOut = Math.max(1e-6, ...view.units.flatMap((u) => u.outgoing.map(Math.abs)));
  view.units.forEach((unit, row) => {
    const h = position("h:" + row);
    unit.drive.forEach((drive, p) => {
      const c = position("c:" + p), style = edgeStyle(drive, maxDrive);
      svgElement("line", { x1: c.x, y1: c.y, x2: h.x, y2: h.y, stroke: style.stroke, "stroke-width": style.width,
        "stroke-opacity": style.opacity * 0.8, class: "edge drive",
        "data-tip": `context ${p} '${view.contextLabels[p]}' → unit ${unit.unit}: drive ${drive.toFixed(3)}` }, edges);
    });
    unit.outgoing.forEach((weight, y) => {
      const o = position("o:" + y), style = edgeStyle(weight, maxOut);
      svgElement("line", { x1: h.x, y1: h.y, x2: o.x, y2: o.y, stroke: style.stroke, "stroke-width": style.width,
        "stroke-opacity": style.opacity * 0.5, class: "edge weight", "data-unit": unit.unit, "data-output": y, "data-weight": weight,
        "data-tip": `output.weight[${y}, ${unit.unit}] = ${weight.toFixed(4)}  (unit ${unit.unit} → '${view.labels[y]}')` }, edges);
    });
  });
  const node = (id, label, radius, fill, title) => {
    const p = position(id);
    const group = svgElement("g", { class: "node" + (mlp.selected === id ? " selected" : ""), "data-node": id,
      "data-tip": title, transform: `translate(${p.x},${p.y})` }, nodes);
    svgElement("circle", { r: radius, fill }, group);
    const text = svgElement("text", { "text-anchor": "middle", dy: 4 }, group);
    text.textContent = label;
    return group;
  };
  view.contextLabels.forEach((label, p) => node("c:" + p, label, 22, "#ffe8a8", `context position ${p}: '${label}'`));
  view.units.forEach((unit, row) => {
    const a = unit.activation, shade = Math.round(255 - 120 * Math.abs(a));
    node("h:" + row, String(unit.unit), 13, a >= 0 ? `rgb(${shade},${shade},255)` : `rgb(255,${shade},${shade})`,
      `hidden unit ${unit.unit}: activation ${a.toFixed(3)}`);
  });
  const maxP = Math.max(...view.probabilities, ...(mlp.before || [0]));
  view.labels.forEach((label, y) => {
    node("o:" + y, label, 10, "#d9f0d3", `'${label}': ${(100 * view.probabilities[y]).toFixed(2)}%`);
    const o = position("o:" + y), x = o.x + 18, width = 230 * view.probabilities[y] / maxP;
    svgElement("rect", { x, y: o.y - 6, width, height: 12, fill: "#41ab5d", class: "bar", "data-output": label,
      "data-probability": view.probabilities[y], "data-tip": `'${label}': ${(100 * view.probabilities[y]).toFixed(2)}%` }, bars);
    let text = (100 * view.probabilities[y]).toFixed(1) + "%";
    if (mlp.before) {
      svgElement("rect", { x, y: o.y - 6, width: 230 * mlp.before[y] / maxP, height: 12, class: "bar-before" }, bars);
      const delta = 100 * (view.probabilities[y] - mlp.before[y]);
      if (Math.abs(delta) >= 0.05) text += ` (${delta > 0 ? "+" : ""}${delta.toFixed(1)})`;
    }
    svgElement("text", { x: x + Math.max(width, mlp.before ? 230 * mlp.before[y] / maxP : 0) + 4, y: o.y + 4, "font-size": 11 }, bars).textContent = text;
  });
}

function nodeMouseDown(event, id) {
  event.preventDefault();
  if (event.ctrlKey || event.metaKey) { ctrlClick(id); return; }
  const p = position(id);
  mlp.drag = { id, dx: event.clientX - p.x, dy: event.clientY - p.y };
}

// One listener per event on the canvas (not per element), so a redraw only builds elements.
mlp.svg.addEventListener("mousemove", (event) => {
  if (mlp.drag) {
    mlp.positions[mlp.drag.id] = { x: event.clientX - mlp.drag.dx, y: event.clientY - mlp.drag.dy };
    drawMLP();
    return;
  }
  const tipped = event.target.closest("[data-tip]");
  if (tipped) showTooltip(event, tipped.dataset.tip); else hideTooltip();
});
mlp.svg.addEventListener("mouseleave", hideTooltip);
mlp.svg.addEventListener("mousedown", (event) => {
  const node = event.target.closest(".node");
  if (node) nodeMouseDown(event, node.dataset.node);
});
mlp.svg.addEventListener("click", (event) => {
  const edge = event.target.closest(".edge.weight");
  if (edge) editEdge(Number(edge.dataset.output), Number(edge.dataset.unit), Number(edge.dataset.weight));
});
window.addEventListener("mouseup", () => { mlp.drag = null; });

async function ctrlClick(id) {
  if (id.startsWith("c:")) { mlp.selected = id; drawMLP(); return; }
  if (id.startsWith("o:") && mlp.selected) {
    const position = Number(mlp.selected.split(":")[1]), to = mlp.view.labels[Number(id.split(":")[1])];
    mlp.selected = null;
    await mlpEdit("/api/mlp/connect", { context: mlpContext(), position, to: to === "⏎" ? "\n" : to,
      strength: Number($("mlp-strength").value) });
  }
}

function editEdge(output, unit, weight) {
  mlp.edge = { output, unit };
  $("mlp-edge-editor").hidden = false;
  $("mlp-edge-name").textContent = `output.weight[${output}, ${unit}] (unit ${unit} → '${mlp.view.labels[output]}')`;
  $("mlp-edge-value").value = weight.toFixed(4);
  $("mlp-edge-value").focus();
}

async function mlpEdit(path, body) {
  try {
    const answer = await api(path, body);
    mlp.before = answer.before;
    mlp.view = answer.view;
    const changes = answer.changes;
    $("mlp-changes").textContent = changes.length === 0 ? "nothing changed" :
      `${changes.length} weight${changes.length > 1 ? "s" : ""}: ` + changes.slice(0, 6).map((c) =>
        `${c.name}[${c.index}] ${c.old.toFixed(3)} → ${c.new.toFixed(3)}`).join("; ") + (changes.length > 6 ? " …" : "");
    $("mlp-timing").textContent = `edit → redraw ${answer._milliseconds.toFixed(1)} ms`;
    $("mlp-message").textContent = "";
    drawMLP();
    document.body.dataset.mlpEdits = answer.view.edits;
  } catch (error) { $("mlp-message").textContent = error.message; }
}

async function mlpRefresh() {
  try {
    const view = await api("/api/mlp/view", { context: mlpContext() });
    if (!mlp.view || view.contextLabels.length !== mlp.view.contextLabels.length) mlp.positions = {};
    mlp.view = view;
    mlp.before = null;
    $("mlp-timing").textContent = `forward → redraw ${view._milliseconds.toFixed(1)} ms`;
    $("mlp-message").textContent = "";
    drawMLP();
  } catch (error) { $("mlp-message").textContent = error.message; }
}

$("mlp-context").addEventListener("input", mlpRefresh);
$("mlp-strength").addEventListener("input", () => { $("mlp-strength-value").textContent = $("mlp-strength").value; });
$("mlp-edge-apply").addEventListener("click", () => mlp.edge && mlpEdit("/api/mlp/set", {
  context: mlpContext(), name: "output.weight", index: [mlp.edge.output, mlp.edge.unit], value: Number($("mlp-edge-value").value) }));
$("mlp-undo").addEventListener("click", () => mlpEdit("/api/mlp/undo", { context: mlpContext() }));
$("mlp-reset").addEventListener("click", () => mlpEdit("/api/mlp/reset", { context: mlpContext() }));
$("mlp-save").addEventListener("click", async () => {
  try { $("mlp-message").textContent = "saved " + (await api("/api/mlp/save", { file: $("mlp-save-name").value })).path; }
  catch (error) { $("mlp-message").textContent = error.message; }
});
$("mlp-sample").addEventListener("click", async () => {
  try {
    const answer = await api("/api/mlp/sample", { count: 10, seed: Math.floor(Math.random() * 1e9) });
    $("mlp-samples").replaceChildren(...answer.names.map((name) => Object.assign(document.createElement("li"), { textContent: name })));
  } catch (error) { $("mlp-message").textContent = error.message; }
});

// ---------------------------------------------------------------- GPT view
const gpt = { inspection: null, chosen: [0, 0] };

function samplingSettings() {
  const topK = Number($("gpt-topk").value), topP = Number($("gpt-topp").value), minP = Number($("gpt-minp").value);
  const settings = { temperature: Number($("gpt-temperature").value) };
  if (topK > 0) settings.topK = topK;
  if (topP < 1) settings.topP = topP;
  if (minP > 0) settings.minP = minP;
  return settings;
}

function heat(p) { const shade = Math.round((1 - p) * 255); return `rgb(${shade},${shade},255)`; }

function paintMap(canvas, map) {
  const t = map.length, cell = canvas.width / t, context = canvas.getContext("2d");
  context.fillStyle = "white";
  context.fillRect(0, 0, canvas.width, canvas.height);
  map.forEach((row, q) => row.forEach((p, k) => { context.fillStyle = heat(p); context.fillRect(k * cell, q * cell, cell, cell); }));
}

function mapHover(canvas, map, event, title) {
  const t = map.length, rect = canvas.getBoundingClientRect();
  const k = Math.floor((event.clientX - rect.left) / rect.width * t), q = Math.floor((event.clientY - rect.top) / rect.height * t);
  if (q < 0 || k < 0 || q >= t || k >= t) return hideTooltip();
  const labels = gpt.inspection.tokens;
  showTooltip(event, `${title}: query ${q} '${labels[q]}' → key ${k} '${labels[k]}': ${map[q][k].toFixed(4)}`);
}

function drawMaps() {
  const maps = gpt.inspection.maps, container = $("gpt-maps");
  container.style.gridTemplateColumns = `repeat(${maps[0].length}, auto)`;
  container.replaceChildren();
  maps.forEach((layer, l) => layer.forEach((map, h) => {
    const figure = document.createElement("figure");
    if (gpt.chosen[0] === l && gpt.chosen[1] === h) figure.className = "chosen";
    const canvas = Object.assign(document.createElement("canvas"), { width: 96, height: 96 });
    canvas.dataset.layer = l; canvas.dataset.head = h;
    paintMap(canvas, map);
    canvas.addEventListener("mousemove", (e) => mapHover(canvas, map, e, `layer ${l} head ${h}`));
    canvas.addEventListener("mouseleave", hideTooltip);
    canvas.addEventListener("click", () => { gpt.chosen = [l, h]; drawMaps(); });
    figure.append(canvas, Object.assign(document.createElement("figcaption"), { textContent: `layer ${l} head ${h}` }));
    container.appendChild(figure);
  }));
  const [l, h] = gpt.chosen, map = maps[l][h], big = $("gpt-enlarged");
  paintMap(big, map);
  const context = big.getContext("2d"), cell = big.width / map.length;
  context.font = "11px sans-serif";
  if (cell >= 12) map.forEach((row, q) => row.forEach((p, k) => {
    if (k > q) return;
    context.fillStyle = p > 0.6 ? "white" : "#222";
    context.fillText(p >= 0.995 ? "1" : p.toFixed(2).slice(1), k * cell + 2, q * cell + cell / 2 + 4);
  }));
  big.onmousemove = (e) => mapHover(big, map, e, `layer ${l} head ${h}`);
  big.onmouseleave = hideTooltip;
  $("gpt-enlarged-title").textContent = `layer ${l} head ${h}; tokens ${gpt.inspection.tokens.join(" ")}`;
}

function drawBars(distribution) {
  const svg = $("gpt-bars");
  svg.replaceChildren();
  const top = distribution.top, max = Math.max(...top.map((e) => Math.max(e.probability, e.softmax)), 1e-9);
  svg.setAttribute("height", 24 * top.length + 10);
  top.forEach((entry, i) => {
    const y = 4 + i * 24;
    svgElement("text", { x: 4, y: y + 14, "font-size": 13, "font-family": "monospace" }, svg).textContent = entry.label;
    svgElement("rect", { x: 24, y, width: 200 * entry.softmax / max, height: 18, class: "bar-before" }, svg);
    svgElement("rect", { x: 24, y, width: 200 * entry.probability / max, height: 18, fill: entry.probability > 0 ? "#4292c6" : "#ccc",
      class: "bar", "data-token": entry.label, "data-probability": entry.probability }, svg);
    svgElement("text", { x: 232, y: y + 14, "font-size": 12 }, svg).textContent =
      `${(100 * entry.probability).toFixed(1)}% (softmax ${(100 * entry.softmax).toFixed(1)}%)`;
  });
}

async function gptDistribution() {
  try {
    const answer = await api("/api/gpt/distribution", { prompt: $("gpt-prompt").value, count: 12, ...samplingSettings() });
    drawBars(answer);
    $("gpt-timing").textContent = `distribution ${answer._milliseconds.toFixed(1)} ms; ${answer.kept} tokens kept`;
    $("gpt-message").textContent = "";
  } catch (error) { $("gpt-message").textContent = error.message; }
}

async function gptRefresh() {
  try {
    const inspection = await api("/api/gpt/inspect", { prompt: $("gpt-prompt").value });
    gpt.inspection = inspection;
    if (gpt.chosen[0] >= inspection.maps.length || gpt.chosen[1] >= inspection.maps[0].length) gpt.chosen = [0, 0];
    drawMaps();
    const timing = `attention maps ${inspection._milliseconds.toFixed(1)} ms`;
    await gptDistribution();
    $("gpt-timing").textContent = timing + "; " + $("gpt-timing").textContent;
  } catch (error) { $("gpt-message").textContent = error.message; }
}

async function gptGenerate(tokens) {
  const output = $("gpt-output");
  output.textContent = tokens > 1 ? "" : output.textContent;
  const response = await fetch("/api/gpt/generate", { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ prompt: $("gpt-prompt").value, tokens, seed: Math.floor(Math.random() * 1e9), ...samplingSettings() }) });
  if (!response.ok) { $("gpt-message").textContent = (await response.json()).error.message; return; }
  const reader = response.body.getReader(), decoder = new TextDecoder();
  let pending = "", text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    pending += decoder.decode(value, { stream: true });
    const lines = pending.split("\n");
    pending = lines.pop();
    for (const line of lines.filter((l) => l.length > 0)) {
      const event = JSON.parse(line);
      if (event.token !== undefined) { text += event.token; output.textContent = (tokens > 1 ? $("gpt-prompt").value : "") + text; }
      if (event.error) $("gpt-message").textContent = event.error;
    }
  }
  if (tokens === 1 && text !== "\n") { $("gpt-prompt").value += text; await gptRefresh(); }
}

async function gptTrace() {
  try {
    const answer = await api("/api/gpt/trace", { prompt: $("gpt-prompt").value });
    const table = $("gpt-trace"), trace = answer.trace;
    table.innerHTML = "<tr><th>kernel</th><th>ms</th><th>GFLOP/s</th><th>GB/s</th><th>global</th><th>local</th><th>op</th></tr>";
    for (const launch of trace.launches) {
      const row = table.insertRow();
      for (const cell of [launch.variant, launch.milliseconds.toFixed(3), launch.gflops.toFixed(2), launch.gigabytesPerSecond.toFixed(2),
        launch.global.join("×"), launch.local ? launch.local.join("×") : "auto", launch.label]) row.insertCell().textContent = cell;
    }
    const total = trace.launches.reduce((sum, l) => sum + l.milliseconds, 0);
    table.insertRow().insertCell().textContent = `${trace.launches.length} launches, kernels ${total.toFixed(3)} ms, run ${trace.wallMilliseconds.toFixed(3)} ms wall (${answer.positions} positions)`;
  } catch (error) { $("gpt-message").textContent = error.message; }
}

$("gpt-prompt").addEventListener("input", gptRefresh);
for (const [id, show] of [["gpt-temperature", (v) => v], ["gpt-topk", (v) => (Number(v) === 0 ? "off" : v)], ["gpt-topp", (v) => v], ["gpt-minp", (v) => v]]) {
  $(id).addEventListener("input", () => { $(id + "-value").textContent = show($(id).value); gptDistribution(); });
}
$("gpt-next").addEventListener("click", () => gptGenerate(1));
$("gpt-generate").addEventListener("click", () => gptGenerate(50));
$("gpt-trace-button").addEventListener("click", gptTrace);

// ---------------------------------------------------------------- tabs
let info = null;
async function showTab() {
  const tab = location.hash === "#gpt" ? "gpt" : "mlp";
  $("mlp-view").hidden = tab !== "mlp";
  $("gpt-view").hidden = tab !== "gpt";
  $("tab-mlp").className = tab === "mlp" ? "active" : "";
  $("tab-gpt").className = tab === "gpt" ? "active" : "";
  if (!info) {
    info = await api("/api/info");
    $("device").textContent = "device: " + info.device;
  }
  const model = info[tab];
  const message = $(tab + "-message");
  if (!model) { message.textContent = `no ${tab.toUpperCase()} loaded: start clmodel serve with a ${tab.toUpperCase()} --checkpoint`; return; }
  if (tab === "mlp" && !mlp.view) await mlpRefresh();
  if (tab === "gpt" && !gpt.inspection) {
    $("gpt-topk").max = model.vocabulary.length;
    await gptRefresh();
  }
  document.body.dataset.ready = tab;
}
window.addEventListener("hashchange", showTab);
showTab();
