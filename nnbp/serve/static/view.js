// Drawing the server's answers: a prediction (label, bars, input, layers) and a run
// (learning curves, confusion matrix, confident errors). Text from the server is always
// set as text, never as HTML.

const $ = (id) => document.getElementById(id);

export function pct(v) {
  return v === null || v === undefined ? "–" : `${(100 * v).toFixed(1)}%`;
}

function element(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

// A warm ramp from near black (0) to yellow (1) for an activation in [0, 1].
function heat(a) {
  const r = Math.round(20 + 235 * a), g = Math.round(22 + 190 * a), b = Math.round(40 + 20 * a);
  return `rgb(${r}, ${g}, ${b})`;
}

// Gray levels (rows of numbers, 0..scale) onto a canvas of the same size, ink light.
function drawPixels(canvas, rows, scale) {
  const h = rows.length, w = rows[0].length;
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(w, h);
  rows.flat().forEach((v, i) => {
    const level = Math.round((255 * v) / scale);
    image.data.set([level, level, level, 255], 4 * i);
  });
  ctx.putImageData(image, 0, 0);
}

export function showPrediction(answer, classNames, source) {
  const p = answer.probabilities;
  // Until the run's class names have arrived, the classes go by number.
  const names = classNames.length === p.length ? classNames : p.map((_, k) => String(k));
  $("label").textContent = answer.name ?? names[answer.label];
  $("label").dataset.label = answer.label;
  $("confidence").textContent = pct(answer.confidence);
  $("source").textContent = `for ${source}`;
  $("warning").hidden = !answer.warning;
  $("warning").textContent = answer.warning ? `Warning: ${answer.warning}` : "";
  const order = p.map((_, k) => k).sort((i, j) => p[j] - p[i]);
  $("top3").replaceChildren(...order.slice(0, 3).map((k) => element("li", "", `${names[k]}  ${pct(p[k])}`)));
  $("bars").replaceChildren(...p.map((v, k) => barRow(names[k], v, k === answer.label)));
  drawPixels($("input"), answer.input, 1);
  showLayers(answer.activations, names);
}

function barRow(name, p, top) {
  const row = element("div", top ? "bar-row top" : "bar-row");
  const track = element("div", "track");
  const bar = element("div", "bar");
  bar.style.width = `${100 * p}%`;
  bar.dataset.p = String(p);
  track.append(bar);
  row.append(element("span", "name", name), track, element("span", "value", pct(p)));
  return row;
}

export function clearPrediction() {
  $("label").textContent = "–";
  delete $("label").dataset.label;
  for (const id of ["confidence", "source", "warning"]) $(id).textContent = "";
  $("warning").hidden = true;
  for (const id of ["top3", "bars", "layers"]) $(id).replaceChildren();
  $("input").getContext("2d").clearRect(0, 0, $("input").width, $("input").height);
}

// Each hidden layer as a near-square grid of cells, the output layer as named cells.
function showLayers(activations, names) {
  const blocks = activations.map((a, l) => {
    const last = l === activations.length - 1;
    const block = element("div", "layer");
    const title = last ? "Output layer" : `Hidden layer ${l + 1}`;
    block.append(element("h3", "", `${title}: ${a.length} neurons`));
    block.append(last ? outputCells(a, names) : grid(a));
    return block;
  });
  $("layers").replaceChildren(...blocks);
}

function grid(a) {
  const cols = Math.ceil(Math.sqrt(a.length));
  const cell = Math.max(4, Math.min(18, Math.floor(216 / cols)));
  const canvas = element("canvas", "grid");
  canvas.width = cols * cell;
  canvas.height = Math.ceil(a.length / cols) * cell;
  const ctx = canvas.getContext("2d");
  a.forEach((v, i) => {
    ctx.fillStyle = heat(v);
    ctx.fillRect((i % cols) * cell, Math.floor(i / cols) * cell, cell - 1, cell - 1);
  });
  return canvas;
}

function outputCells(a, names) {
  const row = element("div", "outputs");
  for (const [k, v] of a.entries()) {
    const cell = element("div", "neuron");
    const swatch = element("span", v > 0.5 ? "swatch lit" : "swatch", v.toFixed(2));
    swatch.style.background = heat(v);
    cell.title = `${names[k]}: a = ${v.toFixed(4)}`;
    cell.append(swatch, element("span", "name", names[k]));
    row.append(cell);
  }
  return row;
}

export function showRun(run) {
  const names = run.class_names;
  const test = run.test;
  $("run-summary").textContent =
    `[${run.sizes.join(", ")}], ${run.cost} cost, weights of epoch ${run.epoch ?? "?"}`;
  $("run-accuracy").textContent = `— test accuracy ${pct(run.test_accuracy ?? test.accuracy)}`;
  drawCurves($("curves"), run.metrics);
  if (test.error) {
    $("confusion").replaceChildren();
    $("errors").replaceChildren();
    $("confusion-caption").textContent = `No test report: ${test.error}`;
    return;
  }
  $("confusion-caption").textContent =
    `Confusion matrix on ${test.n} test images (${pct(test.accuracy)} right): rows are the true class, columns the predicted one`;
  confusionTable(test.confusion, names);
  $("errors").replaceChildren(...test.errors.map((e) => errorFigure(e, names)));
}

function confusionTable(confusion, names) {
  const head = element("tr");
  head.append(element("th", "", "true \\ said"), ...names.map((n) => element("th", "", n)));
  const rows = confusion.map((counts, i) => {
    const total = counts.reduce((s, c) => s + c, 0) || 1;
    const tr = element("tr");
    tr.append(element("th", "", names[i]));
    counts.forEach((c, j) => {
      const td = element("td", "", String(c));
      const colour = i === j ? "var(--good)" : "var(--bad)";
      td.style.background = `rgba(${colour}, ${Math.min(1, (i === j ? 0.6 : 3) * (c / total))})`;
      tr.append(td);
    });
    return tr;
  });
  $("confusion").replaceChildren(head, ...rows);
}

function errorFigure(error, names) {
  const figure = element("figure");
  const canvas = element("canvas");
  drawPixels(canvas, error.image, 255);
  const text = `#${error.index}: ${names[error.label]} read as ${names[error.predicted]} (${pct(error.confidence)})`;
  figure.append(canvas, element("figcaption", "", text));
  return figure;
}

// Train, validation and test accuracy per epoch, on a grid with percent and epoch ticks.
function drawCurves(canvas, rows) {
  const ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height, left = 44, right = 100, top = 10, bottom = 28;
  ctx.clearRect(0, 0, W, H);
  const series = [
    ["train", "train_accuracy", "#8a94a3"],
    ["validation", "validation_accuracy", "#2f6fde"],
    ["test", "test_accuracy", "#2f9e44"],
  ].filter(([, key]) => rows.some((r) => typeof r[key] === "number"));
  const values = series.flatMap(([, key]) => rows.map((r) => r[key]).filter((v) => typeof v === "number"));
  canvas.dataset.points = String(rows.length);
  if (!values.length) return;
  const lo = Math.max(0, Math.floor(Math.min(...values) * 20 - 1) / 20), hi = 1;
  const last = Math.max(2, rows.length);
  const x = (epoch) => left + ((epoch - 1) / (last - 1)) * (W - left - right);
  const y = (v) => top + ((hi - v) / (hi - lo)) * (H - top - bottom);
  ctx.font = "11px system-ui, sans-serif";
  ctx.strokeStyle = "#e3e7ec";
  ctx.fillStyle = "#5f6b7a";
  for (let v = lo; v <= hi + 1e-9; v += (hi - lo) / 5) {
    ctx.beginPath(); ctx.moveTo(left, y(v)); ctx.lineTo(W - right, y(v)); ctx.stroke();
    ctx.fillText(`${(100 * v).toFixed(0)}%`, 4, y(v) + 4);
  }
  const step = Math.max(1, Math.ceil(rows.length / 8));
  for (let e = 1; e <= rows.length; e += step) ctx.fillText(String(e), x(e) - 3, H - 10);
  ctx.fillText("epoch", W - right + 10, H - 10);
  series.forEach(([name, key, colour], s) => {
    ctx.strokeStyle = ctx.fillStyle = colour;
    ctx.lineWidth = 2;
    ctx.beginPath();
    rows.forEach((r, i) => {
      if (typeof r[key] !== "number") return;
      const [px, py] = [x(r.epoch ?? i + 1), y(r[key])];
      i === 0 ? ctx.moveTo(px, py) : ctx.lineTo(px, py);
      ctx.fillRect(px - 2, py - 2, 4, 4);
    });
    ctx.stroke();
    ctx.fillText(name, W - right + 10, top + 14 + 16 * s);
  });
}
