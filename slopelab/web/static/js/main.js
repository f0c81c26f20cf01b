// The demo page: builds the views, wires the controls and keyboard, and redraws from app state.
// Every number on the page comes from the server (/api/*): nothing here computes a loss, a
// gradient, a score, a prediction or an update.

import { api } from "./api.js";
import { Charts } from "./charts.js";
import {
  LogSlider, buildAxes, buildClassPicker, buildLossChoice, buildOptimizerControls, radioArrows,
  syncFormulas, syncLossChoice, syncOptimizerControls,
} from "./controls.js";
import { DataCanvas, describePoint } from "./datacanvas.js";
import {
  batchChanged, dataChanged, landscapeMoveTo, loadPreset, newParams, nudge, pickClass, pointEdits, relabel,
  setNumClasses,
} from "./edits.js";
import { scientific } from "./format.js";
import { nextPoint, renderExplain, requestExplain } from "./explain.js";
import { buildFeatureControls, syncFeatureControls } from "./features.js";
import { renderGradcheck } from "./gradcheck.js";
import { renderHeldOut, syncSplitControl, withSplit } from "./heldout.js";
import { LandscapeView } from "./landscape.js";
import { renderLosses, requestLosses, wireLosses } from "./losses.js";
import { LrScanView, requestLrScan } from "./lrscan.js";
import { CLASS_NAMES, glyph } from "./palette.js";
import { ParamPanel, PointsTable, renderHeader, renderTotals } from "./panels.js";
import { Race } from "./race.js";
import {
  exactLandscapeValue, goTo, hooks, mainLaneIdle, refresh, requestGradcheck, requestLandscape, setRunning, showError,
  singleStep,
} from "./session.js";
import { watchScrollBoxes } from "./scrollhint.js";
import * as share from "./share.js";
import { app, defaultSetup, markModified, originEntry, pace } from "./state.js";
import { setStatus, wireStatusClose } from "./status.js";

const $ = (id) => document.getElementById(id);
const views = {};
const MAX_SEED = 4294967295; // the API's bound on a batch seed (2**32 - 1)
let stepSlider;
let regSlider;

// ---------------------------------------------------------------- drawing

let renderPending = false;
let lastRender = 0;
let lastTableRender = 0;

function scheduleRender() {
  if (renderPending) return;
  renderPending = true;
  // with reduced motion, a running demo redraws twice a second instead of every frame
  const throttle = app.ui.reducedMotion && (app.ui.running || app.race.running) ? 500 : 0;
  const wait = Math.max(0, lastRender + throttle - performance.now());
  setTimeout(() => requestAnimationFrame(() => {
    renderPending = false;
    lastRender = performance.now();
    render();
  }), wait);
}

function changed() {
  scheduleRender();
  requestLandscape();
  requestGradcheck();
  requestExplain();
  requestLosses();
}

function render() {
  document.body.dataset.busy = String(!mainLaneIdle());
  if (!app.evaluation) return;
  renderHeader(app);
  renderTotals(app);
  views.data.render(app);
  views.params.render(app);
  views.charts.render(app);
  views.landscape.render(app);
  views.race.render();
  renderChartLegend();
  renderHeldOut(app);
  if (app.ui.tab === "lr") {
    views.lr.render();
    requestLrScan(scheduleRender, showError);
  }
  const now = performance.now();
  if (app.ui.tab === "points" && (!app.ui.running || now - lastTableRender > 200)) {
    views.points.render(app);
    lastTableRender = now;
  }
  if (app.ui.tab === "gradcheck") {
    renderGradcheck(app, $("gradcheck-body"), $("gradcheck-verdict"), $("sweep-chart"));
  }
  if (app.ui.tab === "explain") {
    requestExplain(); // the selected point may have changed; asks only when something did
    renderExplain($("panel-explain"), $("explain-body"), $("explain-point"));
  }
  if (app.ui.tab === "losses") renderLosses($("panel-losses"), $("losses-body"));
  renderSelection();
  $("chart-mode").hidden = !app.race.runners.length;
  for (const button of $("chart-mode").querySelectorAll("button")) {
    button.setAttribute("aria-checked", String(button.dataset.mode === app.ui.chartMode));
  }
}

function renderChartLegend() {
  const legend = $("chart-legend");
  const key = `${app.ui.chartMode}:${app.race.runners.length}:${views.charts.series(app).length}`;
  if (legend.dataset.key === key) return;
  legend.dataset.key = key;
  legend.innerHTML = views.charts.series(app).map((s) =>
    `<span><svg width="22" height="6"><line x1="1" y1="3" x2="21" y2="3" stroke="${s.colour}"
      stroke-width="2.5" stroke-dasharray="${s.dash.join(" ")}"/></svg>${s.label}</span>`).join("");
}

function renderSelection() {
  const selected = app.ui.selected;
  const relabelButtons = $("relabel");
  $("delete-point").disabled = selected === null;
  if (selected === null) {
    $("selected-label").textContent = "No point selected: click one on the canvas (or press N there).";
    relabelButtons.innerHTML = "";
    return;
  }
  $("selected-label").textContent = describePoint(app, selected);
  const label = app.setup.data.y[selected];
  relabelButtons.innerHTML = "relabel as " + Array.from({ length: app.setup.data.num_classes }, (_, k) =>
    `<button type="button" data-relabel="${k}" aria-pressed="${k === label}"
      title="class ${k}: ${CLASS_NAMES[k]}">${glyph(k)} ${k}</button>`).join("");
}

// ---------------------------------------------------------------- controls

function syncAllControls() {
  syncLossChoice(app);
  stepSlider.set(app.setup.optimizer.learning_rate);
  regSlider.set(app.setup.reg);
  syncOptimizerControls(app, onOptimizerChange);
  $("minibatch").checked = Boolean(app.setup.batch);
  if (app.setup.batch) {
    $("batch-size").value = String(app.setup.batch.size);
    $("batch-seed").value = String(app.setup.batch.seed);
  }
  $("num-classes").value = String(app.setup.data.num_classes);
  syncSplitControl(app.setup.data);
  $("landscape-span").value = String(app.setup.landscape.span);
  $("landscape-log").checked = app.setup.landscape.log;
  $("landscape-follow").checked = app.setup.landscape.follow;
  buildClassPicker(app, pickClass);
  buildAxes(app, requestLandscape);
  syncFeatureControls();
}

function onOptimizerChange() {
  syncFormulas(app);
  markModified();
  requestLandscape();
  requestExplain();
}

// The fields show the clamped values the requests use, not what was typed.
function readBatch() {
  if (!$("minibatch").checked) {
    app.setup.batch = null;
  } else {
    const count = app.setup.data.X.length;
    const size = Math.max(1, Math.min(count, Math.round(Number($("batch-size").value) || 1)));
    const seed = Math.max(0, Math.min(MAX_SEED, Math.round(Number($("batch-seed").value) || 0)));
    app.setup.batch = { size, seed };
    $("batch-size").value = String(size);
    $("batch-seed").value = String(seed);
  }
  batchChanged();
}

function selectTab(tab) {
  app.ui.tab = tab;
  for (const button of $("tabs").querySelectorAll('[role="tab"]')) {
    const selected = button.id === `tab-${tab}`;
    button.setAttribute("aria-selected", String(selected));
    button.tabIndex = selected ? 0 : -1;
    $(button.getAttribute("aria-controls")).hidden = !selected;
  }
  requestGradcheck();
  requestExplain();
  requestLosses();
  scheduleRender();
}

function setReducedMotion(reduce) {
  app.ui.reducedMotion = reduce;
  $("reduce-motion").checked = reduce;
  document.body.classList.toggle("reduce-motion", reduce);
}

const on = (id, event, handler) => $(id).addEventListener(event, handler);

function wireTransport() {
  on("step-button", "click", singleStep);
  on("run-button", "click", () => setRunning(!app.ui.running));
  on("back-button", "click", () => goTo(app.cursor - 1));
  on("reset-button", "click", () => newParams("default"));
  on("randomize-button", "click", () => newParams("random"));
  on("timeline", "input", () => goTo(Number($("timeline").value)));
}

function wireSettings() {
  buildLossChoice(app, (loss) => {
    app.setup.loss = loss;
    syncLossChoice(app);
    markModified();
    refresh();
  });
  const ranges = app.defaults.ranges;
  stepSlider = new LogSlider($("step-size"), $("step-size-value"), ranges.learning_rate, (value) => {
    app.setup.optimizer.learning_rate = value;
    markModified();
    requestExplain();
    requestLrScan(scheduleRender, showError);
  });
  regSlider = new LogSlider($("reg"), $("reg-value"), ranges.reg, (value) => {
    app.setup.reg = value;
    markModified();
    refresh();
  });
  buildOptimizerControls(app, onOptimizerChange);
  buildFeatureControls(scheduleRender);
  on("param-lecture", "change", () => {
    app.ui.paramLayout = $("param-lecture").checked ? "classes" : "api";
    scheduleRender();
  });
  for (const id of ["minibatch", "batch-size", "batch-seed"]) on(id, "change", readBatch);
  for (const id of ["batch-size", "batch-seed"]) on(id, "blur", readBatch);
}

function wireViews() {
  on("chart-log", "change", () => {
    app.setup.chartLog = $("chart-log").checked;
    scheduleRender();
  });
  on("chart-mode", "click", (event) => {
    const button = event.target.closest("button[data-mode]");
    if (!button) return;
    app.ui.chartMode = button.dataset.mode;
    changed();
  });
  on("landscape-span", "change", () => {
    app.setup.landscape.span = Number($("landscape-span").value);
    requestLandscape();
  });
  on("landscape-log", "change", () => {
    app.setup.landscape.log = $("landscape-log").checked;
    scheduleRender();
  });
  on("landscape-follow", "change", () => {
    app.setup.landscape.follow = $("landscape-follow").checked;
    requestLandscape();
  });
  for (const input of document.querySelectorAll('input[name="scheme"]')) {
    input.addEventListener("change", requestGradcheck);
  }
  on("gradcheck-h", "input", () => {
    $("gradcheck-h-value").textContent = scientific(10 ** Number($("gradcheck-h").value), 0);
    requestGradcheck();
  });
  on("gradcheck-demo", "change", () => {
    app.gradcheck.demo = $("gradcheck-demo").checked;
    scheduleRender();
  });
  on("tabs", "click", (event) => {
    const button = event.target.closest('[role="tab"]');
    if (button) selectTab(button.id.replace("tab-", ""));
  });
  radioArrows($("tabs"), '[role="tab"]');
}

function wirePanels() {
  on("race-start", "click", () => views.race.start());
  on("race-stop", "click", () => views.race.stop());
  on("race-clear", "click", () => views.race.clear());
  $("preset").innerHTML = app.defaults.presets.map((name) => `<option value="${name}">${name}</option>`).join("");
  const showNoise = () => {
    $("preset-noise-value").textContent = Number($("preset-noise").value).toFixed(2);
  };
  on("preset-noise", "input", showNoise);
  // A preset starts from its own noise (not separable overlaps, blobs do not); moving the
  // slider afterwards overrides it.
  on("preset", "change", () => {
    const noise = app.defaults.preset_noise[$("preset").value];
    if (noise === undefined) return; // cs231n: fixed points, no noise
    $("preset-noise").value = String(noise);
    showNoise();
  });
  on("preset-apply", "click", loadPreset);
  on("num-classes", "change", () => setNumClasses(Number($("num-classes").value)));
  on("delete-point", "click", () => {
    if (app.ui.selected !== null) pointEdits.remove(app.ui.selected);
  });
  on("relabel", "click", (event) => {
    const button = event.target.closest("button[data-relabel]");
    if (button && app.ui.selected !== null) relabel(app.ui.selected, Number(button.dataset.relabel));
  });
  for (const id of ["test-fraction", "test-seed"]) {
    on(id, "change", async () => {
      try {
        app.setup.data = await withSplit(app.setup.data);
        dataChanged();
      } catch (error) {
        showError(error);
      }
    });
  }
  on("lr-steps", "change", () => {
    app.lrScan.steps = Number($("lr-steps").value);
    requestLrScan(scheduleRender, showError);
  });
  on("share-link", "click", share.shareLink);
  on("export-json", "click", share.exportJson);
  on("import-json", "change", (event) => {
    const [file] = event.target.files;
    if (file) share.importJson(file, syncAllControls);
    event.target.value = "";
  });
  on("copy-python", "click", share.copyPython);
  on("python-copy", "click", async () => {
    const copied = await share.copyText($("python-code").value);
    if (!copied) $("python-code").select();
    $("python-copy").textContent = copied ? "Copied" : "Select all and copy";
  });
  on("explain-next", "click", () => pointEdits.select(nextPoint()));
  wireLosses($("losses-body"), pointEdits);
  on("export-csv", "click", () => share.download("slopelab-iterates.csv", share.iteratesCsv(app), "text/csv"));
  on("help-button", "click", () => $("help-dialog").showModal());
  setReducedMotion(window.matchMedia("(prefers-reduced-motion: reduce)").matches);
  on("reduce-motion", "change", () => setReducedMotion($("reduce-motion").checked));
}

// Inputs that take no typing: shortcuts stay on after a click on a slider or a checkbox.
const UNTYPED_INPUTS = new Set(["range", "checkbox", "radio", "button", "submit", "reset", "color", "file", "image"]);

function isTextField(element) {
  if (!element.closest) return false;
  if (element.closest("select, textarea, [contenteditable]:not([contenteditable='false'])")) return true;
  return element.tagName === "INPUT" && !UNTYPED_INPUTS.has(element.type);
}

// Global shortcuts, ignored while typing in a field or with a dialog open. Space keeps
// pressing a focused button and arrows keep moving a focused slider or radio group.
function onShortcut(event) {
  if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
  if (document.querySelector("dialog[open]")) return;
  const target = event.target;
  if (isTextField(target)) return;
  const presses = target.closest && target.closest("button, a, canvas, [role='tab']");
  const arrows = presses || (target.tagName === "INPUT" && ["range", "radio"].includes(target.type));
  const key = event.key;
  if (key === " " && !presses) setRunning(!app.ui.running);
  else if (key === "s" || key === "S" || (key === "ArrowRight" && !arrows)) singleStep();
  else if (key === "b" || key === "B" || (key === "ArrowLeft" && !arrows)) goTo(app.cursor - 1);
  else if (key === "r" || key === "R") newParams("default");
  else if (key === "?") $("help-dialog").showModal();
  else if (/^[1-6]$/.test(key)) pickClass(Number(key) - 1);
  else if ((key === "Delete" || key === "Backspace") && app.ui.selected !== null) pointEdits.remove(app.ui.selected);
  else if (key === "Escape" && app.ui.selected !== null) pointEdits.select(null);
  else return;
  event.preventDefault();
}

// ---------------------------------------------------------------- start

async function boot() {
  app.defaults = await api.defaults();
  app.setup = defaultSetup(app.defaults);
  app.timeline = [originEntry(app.defaults.params)];
  hooks.render = scheduleRender;
  hooks.changed = changed;
  views.data = new DataCanvas($("data-canvas"), $("data-tooltip"), pointEdits);
  views.landscape = new LandscapeView($("landscape"), $("landscape-readout"), {
    state: () => app, moveTo: landscapeMoveTo, exactValue: exactLandscapeValue,
  });
  views.charts = new Charts($("loss-chart"), $("accuracy-chart"), $("chart-readout"), { redraw: scheduleRender });
  views.lr = new LrScanView($("lr-scan"), $("lr-readout"), (rate) => {
    app.setup.optimizer.learning_rate = rate;
    stepSlider.set(rate);
    markModified();
    scheduleRender();
  });
  views.params = new ParamPanel($("param-body"), nudge, $("param-head"), $("param-layout-note"));
  views.points = new PointsTable($("points-head"), $("points-body"), $("points-foot"), (i) => pointEdits.hover(i));
  views.race = new Race(app, {
    changed, pace: () => pace(Number($("speed").value)), status: (kind, message) => setStatus(kind, message),
  });
  views.race.build(app.defaults);
  wireTransport();
  wireSettings();
  wireViews();
  wirePanels();
  wireStatusClose();
  watchScrollBoxes();
  document.addEventListener("keydown", onShortcut);
  const observer = new ResizeObserver(() => scheduleRender());
  for (const canvas of document.querySelectorAll("canvas")) observer.observe(canvas);
  syncAllControls();
  let restored = false;
  try {
    const snapshot = share.readHash(location.hash);
    if (snapshot) {
      await share.applySnapshot(share.checkSnapshot(snapshot), syncAllControls);
      restored = true;
    }
  } catch (error) {
    // not "error": the fallback evaluation below would clear it before anyone read it
    setStatus("error", `The link's setup could not be loaded: ${error.message}`, "link");
  }
  if (!restored) await refresh();
  document.body.dataset.ready = "true";
}

boot().catch(showError);
