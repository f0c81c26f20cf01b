// Talking to the server about the current run: evaluate, step, run and stop, landscape and
// gradient-check refreshes. Each kind of request has its own lane, one request at a time.

import { Lane, api } from "./api.js";
import {
  GRID_SIZE, MAX_PATH, MAX_TIMELINE, app, current, fromRecord, problem, recentTotals,
  resetTimeline, setMetrics, thin,
} from "./state.js";
import { Pacer, formatRate } from "./pacer.js";
import { clearErrorShownBefore, clearStatus, setStatus, statusMark } from "./status.js";

// Filled in by main.js: redraw soon, and "the state changed" (redraw and refresh the panels).
export const hooks = { render: () => {}, changed: () => {} };

// Evaluations and steps, in order. body[data-busy] turns "false" only once a redraw has shown
// the last answer (see mainLaneIdle), so tests can wait for a settled page.
const mainLane = new Lane((idle) => {
  if (idle) hooks.render();
  else document.body.dataset.busy = "true";
});

export const mainLaneIdle = () => mainLane.idle;
const landscapeLane = new Lane();
const checkLane = new Lane();
const readoutLane = new Lane();

// A main-lane task that succeeds clears the error banner of an earlier action.
function clearingErrors(task) {
  return async () => {
    const mark = statusMark();
    const result = await task();
    clearErrorShownBefore(mark);
    return result;
  };
}

export function runOnMainLane(task, key = null) {
  return mainLane.run(clearingErrors(task), key).catch(showError);
}

export function showError(error) {
  if (!error) return;
  setStatus("error", error.message || String(error), "error");
  setRunning(false);
}

export function startRun(params) {
  resetTimeline(params);
  clearStatus("step");
}

// dataVersion: app.dataVersion when the evaluation was requested.
export function applyEvaluation(entry, evaluation, dataVersion = app.dataVersion) {
  setMetrics(entry, evaluation, dataVersion);
  app.evaluation = evaluation;
  hooks.changed();
}

export function refresh() {
  return runOnMainLane(async () => {
    const entry = current();
    const dataVersion = app.dataVersion;
    const evaluation = await api.evaluate({
      ...problem(entry.params), grid_size: GRID_SIZE, batch: app.setup.batch, step: entry.step,
    });
    applyEvaluation(entry, evaluation, dataVersion);
  }, "evaluate");
}

export function step(numSteps = 1) {
  return mainLane.run(clearingErrors(async () => {
    const from = app.cursor;
    const entry = app.timeline[from];
    const rule = app.setup.optimizer.name;
    const dataVersion = app.dataVersion;
    const result = await api.step({
      // an iterate made by another update rule carries that rule's state: start a fresh one
      ...problem(entry.params), optimizer: app.setup.optimizer,
      opt_state: entry.rule === rule ? entry.opt_state : null,
      batch: app.setup.batch, step: entry.step, num_steps: numSteps,
      recent_totals: recentTotals(from), grid_size: GRID_SIZE,
    });
    if (app.timeline[from] !== entry) return result; // the run was restarted meanwhile
    app.timeline.length = from + 1; // stepping from the past replaces the old future
    for (const record of result.records) app.timeline.push(fromRecord(record, rule, dataVersion));
    if (app.timeline.length > MAX_TIMELINE) trimTimeline();
    app.cursor = app.timeline.length - 1;
    if (result.status === "ok") clearStatus("step");
    else setStatus(result.status === "diverged" ? "error" : "warning", result.message, "step");
    applyEvaluation(current(), result.evaluation, dataVersion);
    return result;
  }));
}

// Beyond MAX_TIMELINE iterates the oldest (but the first) go; said once per run.
let trimmed = null;

function trimTimeline() {
  app.timeline.splice(1, app.timeline.length - MAX_TIMELINE);
  if (trimmed === app.timeline) return;
  trimmed = app.timeline;
  setStatus("info", `The timeline keeps the first and the last ${MAX_TIMELINE - 1} iterates: ` +
    "older ones are no longer reachable with Back.");
}

export function setRunning(running) {
  if (app.ui.running === running) return;
  app.ui.running = running;
  hooks.render();
  if (running) runLoop();
}

// Requests as many updates as fell due at the chosen speed (see pacer.js) and shows the rate
// reached next to the speed selector.
const pacer = new Pacer();

async function runLoop() {
  const shown = document.getElementById("speed-achieved");
  pacer.reset();
  while (app.ui.running) {
    const { steps, wait } = pacer.next(Number(document.getElementById("speed").value));
    if (!steps) {
      await new Promise((resolve) => setTimeout(resolve, wait));
      continue;
    }
    let result;
    try {
      result = await step(steps);
    } catch (error) {
      showError(error);
      break;
    }
    if (!result || result.status === "diverged") break;
    pacer.record(result.records.length);
    shown.textContent = formatRate(pacer.rate());
    shown.dataset.rate = String(pacer.rate() ?? "");
  }
  shown.textContent = "";
  delete shown.dataset.rate;
  setRunning(false);
}

export function singleStep() {
  if (!app.ui.running) step(1).catch(showError);
}

export function goTo(index) {
  setRunning(false);
  app.cursor = Math.max(0, Math.min(app.timeline.length - 1, index));
  clearStatus("step");
  refresh();
}

let landscapeTimer = null;
let landscapeLast = 0;

export function requestLandscape() {
  if (app.ui.landscapeDragging) return;
  const busy = app.ui.running || app.race.running;
  const wait = Math.max(0, landscapeLast + (busy ? 150 : 0) - performance.now());
  clearTimeout(landscapeTimer);
  landscapeTimer = setTimeout(() => {
    landscapeLane.run(fetchLandscape, "landscape").catch(showError);
  }, wait);
}

async function fetchLandscape() {
  landscapeLast = performance.now();
  const entry = current();
  const settings = app.setup.landscape;
  const centre = settings.follow ? entry.params : app.timeline[0].params;
  const paths = [thin(app.timeline.slice(0, app.cursor + 1).map((e) => e.params), MAX_PATH)];
  const pathRunners = [];
  if (app.ui.chartMode === "race") {
    for (const runner of app.race.runners) {
      paths.push(thin(runner.history.map((h) => h.params), MAX_PATH / 2));
      pathRunners.push(runner.slot);
    }
  }
  const result = await api.landscape({
    ...problem(centre), axes: settings.axes, span: settings.span, size: settings.size,
    quantity: settings.quantity, paths, batch: app.setup.batch, step: entry.step,
  });
  app.landscape = { result, pathRunners, centre };
  hooks.render();
}

// The loss exactly at a hovered point of the slice (the grid holds only its cell centres):
// the newest hover replaces a waiting one; null when replaced or refused.
export function exactLandscapeValue(first, second) {
  const settings = app.setup.landscape;
  const body = {
    ...problem(app.landscape.centre), axes: settings.axes, quantity: settings.quantity, first, second,
  };
  return readoutLane.run(() => api.landscapeValue(body), "readout").catch(() => null);
}

let gradcheckTimer = null;

export function requestGradcheck() {
  if (app.ui.tab !== "gradcheck") return;
  clearTimeout(gradcheckTimer);
  gradcheckTimer = setTimeout(() => {
    checkLane.run(async () => {
      const scheme = document.querySelector('input[name="scheme"]:checked').value;
      const h = 10 ** Number(document.getElementById("gradcheck-h").value);
      app.gradcheck.result = await api.gradcheck({ ...problem(current().params), h, scheme, sweep: true });
      hooks.render();
    }, "gradcheck").catch(showError);
  }, app.ui.running ? 400 : 60);
}
