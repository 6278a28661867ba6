// nnbp serve's page: draw on the pad (or drop an image file), ask the server what the
// network says as you draw, and show the chosen run. view.js draws the answers.
import { clearPrediction, pct, showPrediction, showRun } from "./view.js";

const $ = (id) => document.getElementById(id);
const pad = $("pad");
const ctx = pad.getContext("2d");
// Pen width in pad pixels: a digit drawn across most of the 280-pixel pad is scaled to
// 20 pixels by MNIST's preparation, which turns this into MNIST's 2-3 pixel strokes.
const PEN = 18;

const state = {
  run: null, // the chosen run's name
  names: [], // its class names
  strokes: [], // the drawing: lists of {x, y} points in pad pixels
  current: null, // the stroke being drawn
  file: null, // the image file shown instead of the drawing, if any
  generation: 0, // bumped when the drawing is replaced: older answers are dropped
  busy: false, // a prediction request is on its way
  again: false, // the drawing changed while it was: ask again when it answers
};

// --- Drawing -------------------------------------------------------------------------

function paint() {
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, pad.width, pad.height);
  Object.assign(ctx, { strokeStyle: "#000", fillStyle: "#000", lineWidth: PEN, lineCap: "round", lineJoin: "round" });
  for (const stroke of state.strokes) {
    dot(stroke[0]);
    stroke.slice(1).forEach((p, i) => segment(stroke[i], p));
  }
}

function dot(p) {
  ctx.beginPath();
  ctx.arc(p.x, p.y, PEN / 2, 0, 2 * Math.PI);
  ctx.fill();
}

function segment(from, to) {
  ctx.beginPath();
  ctx.moveTo(from.x, from.y);
  ctx.lineTo(to.x, to.y);
  ctx.stroke();
}

function point(e) {
  const r = pad.getBoundingClientRect();
  return { x: ((e.clientX - r.left) * pad.width) / r.width, y: ((e.clientY - r.top) * pad.height) / r.height };
}

pad.addEventListener("pointerdown", (e) => {
  e.preventDefault();
  pad.setPointerCapture(e.pointerId);
  if (state.file) startOver();
  state.current = [point(e)];
  state.strokes.push(state.current);
  dot(state.current[0]);
  predictDrawing();
});

pad.addEventListener("pointermove", (e) => {
  if (!state.current) return;
  const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
  for (const ev of events.length ? events : [e]) {
    const p = point(ev);
    segment(state.current[state.current.length - 1], p);
    state.current.push(p);
  }
  predictDrawing();
});

for (const type of ["pointerup", "pointercancel"]) {
  pad.addEventListener(type, () => {
    if (!state.current) return;
    state.current = null;
    predictDrawing();
  });
}

function startOver() {
  state.strokes = [];
  state.current = null;
  state.file = null;
  state.generation += 1;
  paint();
  clearPrediction();
}

function undo() {
  state.strokes.pop();
  state.generation += 1;
  paint();
  if (state.strokes.length) predictDrawing();
  else clearPrediction();
}

$("clear").addEventListener("click", startOver);
$("undo").addEventListener("click", undo);
document.addEventListener("keydown", (e) => {
  if ((e.ctrlKey || e.metaKey) && e.key === "z") {
    e.preventDefault();
    undo();
  }
});

// --- Image files ---------------------------------------------------------------------

function predictFile(file) {
  startOver();
  state.file = file;
  // Sent as plain bytes whatever the file says it is: only images are predicted.
  request(file, "application/octet-stream", file.name, file.name);
}

$("file").addEventListener("change", (e) => {
  if (e.target.files.length) predictFile(e.target.files[0]);
  e.target.value = ""; // choosing the same file again is a change too
});
// A file dropped anywhere on the page is predicted; the browser must not open it instead.
document.addEventListener("dragover", (e) => {
  e.preventDefault();
  pad.classList.add("dropping");
});
document.addEventListener("dragleave", () => pad.classList.remove("dropping"));
document.addEventListener("drop", (e) => {
  e.preventDefault();
  pad.classList.remove("dropping");
  if (e.dataTransfer.files.length) predictFile(e.dataTransfer.files[0]);
});

// --- Predictions ---------------------------------------------------------------------

// At most one request at a time: changes made meanwhile are sent when it answers.
function predictDrawing() {
  if (!state.strokes.length) return;
  if (state.busy) {
    state.again = true;
    return;
  }
  state.busy = true;
  document.body.dataset.predicting = "yes";
  pad.toBlob((blob) => request(blob, "image/png", "drawing.png", "your drawing"), "image/png");
}

async function request(body, type, name, source) {
  state.busy = true;
  document.body.dataset.predicting = "yes";
  const generation = state.generation;
  const query = new URLSearchParams({ name });
  if (state.run) query.set("run", state.run);
  try {
    const response = await fetch(`/api/predict?${query}`, { method: "POST", headers: { "Content-Type": type }, body });
    const answer = await readJSON(response);
    if (generation === state.generation) {
      if (response.ok) showPrediction(answer, state.names, source);
      showError(response.ok ? "" : answer.error);
    }
  } catch (err) {
    showError(`no answer from nnbp serve (${err.message}); is it still running?`);
  }
  state.busy = false;
  if (state.again) {
    state.again = false;
    predictDrawing();
  }
  if (!state.busy) document.body.dataset.predicting = "no";
}

function predictAgain() {
  if (state.file) request(state.file, "application/octet-stream", state.file.name, state.file.name);
  else predictDrawing();
}

function showError(message) {
  $("error").hidden = !message;
  $("error").textContent = message || "";
}

// --- Runs ----------------------------------------------------------------------------

// The answer's JSON; an answer that is not JSON becomes an error naming its status.
async function readJSON(response) {
  try {
    return await response.json();
  } catch {
    return { error: `the server answered ${response.status} ${response.statusText}` };
  }
}

async function getJSON(url) {
  const response = await fetch(url);
  const body = await readJSON(response);
  if (!response.ok) throw new Error(body.error);
  return body;
}

async function chooseRun(name) {
  try {
    const run = await getJSON(`/api/runs/${encodeURIComponent(name)}`);
    state.run = name;
    state.names = run.class_names;
    showRun(run);
    showError("");
    predictAgain();
  } catch (err) {
    showError(`cannot show run ${name}: ${err.message}`);
  }
}

async function start() {
  paint();
  try {
    const listing = await getJSON("/api/runs");
    const options = listing.runs.map((r) => {
      const option = new Option(`${r.name} (${r.epochs} epochs, test ${pct(r.test_accuracy)})`, r.name);
      option.selected = r.name === listing.default;
      return option;
    });
    $("run").replaceChildren(...options);
    await chooseRun(listing.default);
  } catch (err) {
    showError(`cannot list the runs: ${err.message}`);
  }
}

$("run").addEventListener("change", (e) => chooseRun(e.target.value));
start();
