// tomei playground: the page's script. Plain JavaScript, no libraries, works offline.
// It draws, sends the drawing to the local tomei server, and shows what comes back.
// The numbers are all computed by tomei in Python (see tomei/tools/playground/session.py).
"use strict";

const STRINGS = {
  en: {
    title: "playground", tab_draw: "Draw", tab_inside: "Inside", tab_learn: "Learn",
    draw_here: "Draw a digit", clear: "Clear", draw_hint: "mouse, pen or finger",
    seen: "What the model sees (28×28)",
    seen_hint: "cropped, scaled to 20×20 and centred by mass, as MNIST was made",
    answer: "The model says", probs_hint: "softmax probabilities of the ten classes",
    hidden_title: "Hidden layer: one square per neuron",
    dropout_hint: "brighter = larger ReLU output; × = dropped by Dropout in this training step " +
      "(only during training)",
    units_title: "Weights of the most active neurons",
    units_hint: "each neuron's 784 weights as a 28×28 picture: blue adds, red subtracts",
    learn_title: "Train the model", epochs: "Epochs", batch_size: "Batch size",
    learning_rate: "Learning rate", train: "Train", stop: "Stop", save: "Save",
    loss: "Loss", accuracy: "Accuracy", training: "— training", validation: "— validation",
    fixed_title: "Test images the model has never seen",
    progress: "epoch {epoch}/{epochs}, batch {batch}/{batches}",
    done: "finished", stopped: "stopped", saved: "saved to {path}",
    empty: "draw something", no_data: "no training data was loaded",
    footer: "Every number on this page is computed by tomei's NumPy code: " +
      "open tomei/engine and tomei/keras to read it."
  },
  ja: {
    title: "プレイグラウンド", tab_draw: "描く", tab_inside: "中を見る", tab_learn: "学習",
    draw_here: "数字を描いてください", clear: "消す", draw_hint: "マウス・ペン・指で描けます",
    seen: "モデルが見る画像 (28×28)",
    seen_hint: "MNIST と同じく切り抜き、20×20 に縮小し、重心で中央に置いたもの",
    answer: "モデルの答え", probs_hint: "10 クラスのソフトマックス確率",
    hidden_title: "隠れ層: 1 マスが 1 ニューロン",
    dropout_hint: "明るいほど ReLU の出力が大きい。× は学習の 1 ステップでドロップアウトが落とす" +
      "ニューロン (学習中だけ)",
    units_title: "よく反応したニューロンの重み",
    units_hint: "各ニューロンの 784 個の重みを 28×28 の絵にしたもの: 青は足し、赤は引く",
    learn_title: "モデルを学習させる", epochs: "エポック数", batch_size: "バッチサイズ",
    learning_rate: "学習率", train: "学習", stop: "停止", save: "保存",
    loss: "損失", accuracy: "正解率", training: "— 訓練データ", validation: "— 検証データ",
    fixed_title: "モデルが一度も見ていないテスト画像",
    progress: "エポック {epoch}/{epochs}、バッチ {batch}/{batches}",
    done: "完了しました", stopped: "停止しました", saved: "{path} に保存しました",
    empty: "何か描いてください", no_data: "学習データが読み込まれていません",
    footer: "このページの数字はすべて tomei の NumPy コードが計算しています。" +
      "tomei/engine と tomei/keras を開けば読めます。"
  }
};
const LANG = STRINGS[document.documentElement.lang] ? document.documentElement.lang : "en";
const S = STRINGS[LANG];
const fmt = (text, values) => text.replace(/\{(\w+)\}/g, (_, k) => String(values[k]));
const $ = (id) => document.getElementById(id);

let names = [];
let view = "draw";
let polling = null;
let runs = 0;  // Train presses so far: a status asked for before the latest one is stale

function applyStrings() {
  for (const el of document.querySelectorAll("[data-i18n]")) {
    el.textContent = S[el.dataset.i18n] || el.dataset.i18n;
  }
}

async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)
  };
  const response = await fetch(path, options);
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

// --- the drawing pad -----------------------------------------------------------------------
const pad = $("pad");
const ctx = pad.getContext("2d");
let drawing = false;
let last = null;
let dirty = false;
let sending = false;

function resetResults() {
  showSeen(null);
  $("top1").textContent = S.empty;
  renderProbs(null);
}

function clearPad() {
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, pad.width, pad.height);
  resetResults();
}

function point(event) {
  const rect = pad.getBoundingClientRect();
  return [(event.clientX - rect.left) * pad.width / rect.width,
          (event.clientY - rect.top) * pad.height / rect.height];
}

function stroke(from, to) {
  ctx.strokeStyle = "#fff";
  ctx.lineWidth = 20;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.beginPath();
  ctx.moveTo(from[0], from[1]);
  ctx.lineTo(to[0], to[1]);
  ctx.stroke();
}

pad.addEventListener("pointerdown", (event) => {
  drawing = true;
  last = point(event);
  stroke(last, last);
  pad.setPointerCapture(event.pointerId);
  event.preventDefault();
});
pad.addEventListener("pointermove", (event) => {
  if (!drawing) return;
  const p = point(event);
  stroke(last, p);
  last = p;
  dirty = true;
});
const endStroke = () => {
  if (!drawing) return;
  drawing = false;
  dirty = true;
  send();
};
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);
$("clear").addEventListener("click", clearPad);

function drawingBody() {
  const pixels = ctx.getImageData(0, 0, pad.width, pad.height).data;
  const gray = new Uint8Array(pad.width * pad.height);
  for (let i = 0; i < gray.length; i++) gray[i] = pixels[4 * i];
  let binary = "";
  for (let i = 0; i < gray.length; i += 8192) {
    binary += String.fromCharCode.apply(null, gray.subarray(i, i + 8192));
  }
  return {width: pad.width, height: pad.height, pixels: btoa(binary)};
}

// Sends the drawing when it changed; one request at a time, the newest drawing wins.
async function send() {
  if (sending || !dirty) return;
  sending = true;
  dirty = false;
  try {
    const body = drawingBody();
    const result = await api("/api/predict", body);
    showPrediction(result);
    if (view === "inside") showInside(await api("/api/inside", body));
  } catch (error) {
    $("top1").textContent = error.message;
  } finally {
    sending = false;
    if (dirty) send();
  }
}

// --- the Draw view -------------------------------------------------------------------------
function showSeen(image) {
  const seen = $("seen").getContext("2d");
  const img = seen.createImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const v = image ? Math.round(255 * image[i]) : 0;
    img.data.set([v, v, v, 255], 4 * i);
  }
  seen.putImageData(img, 0, 0);
}

function renderProbs(probs) {
  const box = $("probs");
  box.replaceChildren();
  const best = probs ? probs.indexOf(Math.max(...probs)) : -1;
  names.forEach((name, i) => {
    const p = probs ? probs[i] : 0;
    const row = document.createElement("div");
    row.className = "prob" + (i === best ? " best" : "");
    row.dataset.class = name;
    row.dataset.p = String(p);
    const label = document.createElement("span");
    label.textContent = name;
    const bar = document.createElement("span");
    bar.className = "bar";
    const fill = document.createElement("span");
    fill.className = "fill";
    fill.style.display = "block";
    fill.style.width = (100 * p).toFixed(1) + "%";
    bar.append(fill);
    const value = document.createElement("span");
    value.className = "val";
    value.textContent = (100 * p).toFixed(1) + "%";
    row.append(label, bar, value);
    box.append(row);
  });
}

function showPrediction(result) {
  if (result.empty) {
    resetResults();
    return;
  }
  names = result.names;
  showSeen(result.image);
  renderProbs(result.probs);
  $("top1").textContent = names[result.top];
}

// --- the Inside view -----------------------------------------------------------------------
function weightPicture(weights) {
  const canvas = document.createElement("canvas");
  canvas.width = 28;
  canvas.height = 28;
  const c = canvas.getContext("2d");
  const img = c.createImageData(28, 28);
  const scale = Math.max(...weights.map(Math.abs)) || 1;
  weights.forEach((w, i) => {
    const v = Math.round(255 * Math.min(1, Math.abs(w) / scale));
    img.data.set(w >= 0 ? [255 - v, 255 - v, 255] : [255, 255 - v, 255 - v], 4 * i);
    img.data[4 * i + 3] = 255;
  });
  c.putImageData(img, 0, 0);
  return canvas;
}

function showInside(result) {
  const grid = $("hidden-grid");
  grid.replaceChildren();
  if (result.empty) return;
  $("inside-layer").textContent = result.layer + " (" + result.activations.length + ")";
  const top = Math.max(...result.activations) || 1;
  result.activations.forEach((a, i) => {
    const cell = document.createElement("div");
    const v = Math.round(255 * Math.max(0, a) / top);
    cell.className = "cell" + (result.dropped && result.dropped[i] ? " dropped" : "");
    cell.style.background = `rgb(${v}, ${Math.round(v * 0.8)}, ${Math.round(v * 0.3)})`;
    cell.title = `#${i}: ${a}`;
    grid.append(cell);
  });
  const units = $("units");
  units.replaceChildren();
  for (const unit of result.units) {
    const box = document.createElement("div");
    box.className = "unit";
    if (unit.weights) box.append(weightPicture(unit.weights));
    const label = document.createElement("div");
    label.textContent = `#${unit.unit}: ${unit.activation.toFixed(2)}`;
    box.append(label);
    units.append(box);
  }
}

// --- the Learn view ------------------------------------------------------------------------
function chart(svgId, curve, trainKey, valKey) {
  const svg = $(svgId);
  svg.replaceChildren();
  const ns = "http://www.w3.org/2000/svg";
  const values = curve.flatMap((p) => [p[trainKey], p[valKey]]).filter(Number.isFinite);
  if (values.length === 0) return;
  const low = Math.min(...values);
  const high = Math.max(...values);
  const span = high - low || 1;
  const x = (i) => 20 + (curve.length === 1 ? 0 : 270 * i / (curve.length - 1));
  const y = (v) => 140 - 125 * (v - low) / span;
  for (const [key, cls] of [[trainKey, "train"], [valKey, "val"]]) {
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("class", cls);
    const points = [];
    curve.forEach((p, i) => {
      if (Number.isFinite(p[key])) points.push(`${x(i).toFixed(1)},${y(p[key]).toFixed(1)}`);
    });
    line.setAttribute("points", points.join(" "));
    svg.append(line);
  }
  for (const [v, yy] of [[high, 12], [low, 148]]) {
    const text = document.createElementNS(ns, "text");
    text.setAttribute("x", "1");
    text.setAttribute("y", String(yy));
    text.textContent = v.toFixed(3);
    svg.append(text);
  }
}

function showFixed(fixed) {
  const box = $("fixed");
  box.replaceChildren();
  for (const item of fixed || []) {
    const cell = document.createElement("div");
    cell.className = "fixed " + (item.pred === item.label ? "right" : "wrong");
    const canvas = document.createElement("canvas");
    canvas.width = 28;
    canvas.height = 28;
    const c = canvas.getContext("2d");
    const img = c.createImageData(28, 28);
    item.image.forEach((v, i) => img.data.set([255 * v, 255 * v, 255 * v, 255], 4 * i));
    c.putImageData(img, 0, 0);
    const label = document.createElement("div");
    label.textContent = `${names[item.pred] ?? item.pred} ${(100 * item.p).toFixed(0)}%`;
    cell.append(canvas, label);
    box.append(cell);
  }
}

function showStatus(status) {
  const curve = status.curve || [];
  const el = $("curve");
  el.dataset.points = String(curve.length);
  el.dataset.accuracy = JSON.stringify(curve.map((p) => p.val_accuracy));
  el.dataset.running = String(status.running);
  chart("chart-loss", curve, "loss", "val_loss");
  chart("chart-accuracy", curve, "accuracy", "val_accuracy");
  showFixed(status.fixed);
  const fraction = status.batches ? ((status.epoch - 1) * status.batches + status.batch) /
    (status.epochs * status.batches) : 0;
  $("progress-bar").style.width = (100 * Math.max(0, Math.min(1, fraction))).toFixed(1) + "%";
  $("progress-text").textContent = status.running ? fmt(S.progress, status) :
    (status.error || (curve.length ? (status.stopped ? S.stopped : S.done) : ""));
  $("train").disabled = status.running;
  $("stop").disabled = !status.running;
  $("save").disabled = status.running;
}

async function poll() {
  const asked = runs;
  try {
    const status = await api("/api/status");
    // A reply to a request sent before Train was pressed (the Learn tab polls once when it
    // opens) says "not running": showing it would stop the polling of the new run.
    if (asked !== runs) return;
    showStatus(status);
    if (!status.running && polling) {
      clearInterval(polling);
      polling = null;
    }
  } catch (error) {
    $("message").textContent = error.message;
  }
}

$("train").addEventListener("click", async () => {
  $("message").textContent = "";
  runs += 1;
  try {
    showStatus(await api("/api/train", {
      epochs: Number($("epochs").value), batch_size: Number($("batch-size").value),
      learning_rate: Number($("learning-rate").value)
    }));
    if (!polling) polling = setInterval(poll, 400);
  } catch (error) {
    $("message").textContent = error.message;
  }
});
$("stop").addEventListener("click", async () => {
  await api("/api/stop", {});
  $("message").textContent = S.stopped;
});
$("save").addEventListener("click", async () => {
  try {
    const result = await api("/api/save", {});
    $("message").textContent = fmt(S.saved, {path: result.saved});
  } catch (error) {
    $("message").textContent = error.message;
  }
});

// --- views ---------------------------------------------------------------------------------
function show(name) {
  view = name;
  for (const tab of document.querySelectorAll(".tab")) {
    tab.classList.toggle("active", tab.dataset.view === name);
  }
  for (const v of ["draw", "inside", "learn"]) $("view-" + v).hidden = v !== name;
  if (name === "inside") {
    dirty = true;
    send();
  }
  if (name === "learn") poll();
}
for (const tab of document.querySelectorAll(".tab")) {
  tab.addEventListener("click", () => show(tab.dataset.view));
}

async function start() {
  applyStrings();
  const info = await api("/api/info");
  names = info.names;
  if (!info.can_train) {
    $("train").disabled = true;
    $("message").textContent = S.no_data;
  }
  $("save").hidden = !info.can_save;
  clearPad();
  document.body.dataset.ready = "true";
}
start();
