// What the learner edits: points (add, move, delete, relabel), the number of classes, presets,
// and W, b (nudges, randomize, reset, a click on the landscape). Editing W, b starts a new run;
// editing the data keeps the run going, as in the CS231n demo.

import { api } from "./api.js";
import { buildAxes, buildClassPicker, syncClassPicker } from "./controls.js";
import {
  applyEvaluation, hooks, refresh, requestLandscape, runOnMainLane, setRunning, showError, startRun,
} from "./session.js";
import { addedPoint, keptPoints, onlyTrainPoint, removedPoint, withSplit } from "./heldout.js";
import { GRID_SIZE, app, clearRace, current, markModified, problem } from "./state.js";
import { setStatus } from "./status.js";

const $ = (id) => document.getElementById(id);

// The points or classes changed: the losses from here on are over new data.
export function dataChanged() {
  app.dataVersion += 1;
  batchChanged();
}

export function batchChanged() {
  markModified();
  const batch = app.setup.batch;
  if (batch) {
    batch.size = Math.min(batch.size, app.setup.data.X.length);
    $("batch-size").value = String(batch.size); // show the size the requests use
  }
  refresh();
}

// The data canvas's callbacks.
export const pointEdits = {
  state: () => app,
  redraw: () => hooks.render(),
  hover(index) {
    if (app.ui.hover === index) return;
    app.ui.hover = index;
    hooks.render();
  },
  select(index) {
    app.ui.selected = index;
    hooks.render();
  },
  add(point) {
    const data = app.setup.data;
    if (data.X.length >= app.defaults.limits.points) {
      setStatus("info", `The demo holds at most ${app.defaults.limits.points} points.`);
      return;
    }
    data.X.push(point);
    data.y.push(app.ui.addClass);
    addedPoint(data);
    app.ui.selected = data.X.length - 1;
    dataChanged();
  },
  move(index, point) {
    app.setup.data.X[index] = point;
    dataChanged();
  },
  remove(index) {
    const data = app.setup.data;
    if (data.X.length <= 1) {
      setStatus("info", "Keep at least one point: the loss is a mean over the points.");
      return;
    }
    if (onlyTrainPoint(data, index)) {
      setStatus("info", "Keep at least one train point: the others are held out (Data tab).");
      return;
    }
    data.X.splice(index, 1);
    data.y.splice(index, 1);
    removedPoint(data, index);
    for (const key of ["hover", "selected"]) {
      const value = app.ui[key];
      if (value === index) app.ui[key] = null;
      else if (value !== null && value > index) app.ui[key] = value - 1;
    }
    dataChanged();
  },
};

export function relabel(index, label) {
  app.setup.data.y[index] = label;
  dataChanged();
}

// The class of new points; with a point selected, its new label.
export function pickClass(k) {
  if (k >= app.setup.data.num_classes) return;
  app.ui.addClass = k;
  syncClassPicker(app);
  if (app.ui.selected !== null) relabel(app.ui.selected, k);
  else hooks.render();
}

export async function newParams(kind) {
  setRunning(false);
  try {
    const seed = kind === "random" ? Math.floor(Math.random() * 2 ** 32) : 0;
    const params = await api.params({ kind, num_classes: app.setup.data.num_classes, seed, features: app.setup.features });
    startRun(params);
    await refresh();
  } catch (error) {
    showError(error);
  }
}

export function nudge(key, index, direction) {
  setRunning(false);
  const params = structuredClone(current().params);
  const amount = direction * app.defaults.nudge;
  const rounded = (value) => Math.round((value + amount) * 1e9) / 1e9; // no 0.30000000000000004
  if (key === "W") params.W[index[0]][index[1]] = rounded(params.W[index[0]][index[1]]);
  else params.b[index[0]] = rounded(params.b[index[0]]);
  startRun(params);
  refresh();
}

export async function setNumClasses(count) {
  const data = app.setup.data;
  const keep = data.y.map((label, i) => (label < count ? i : -1)).filter((i) => i >= 0);
  if (!keep.length) {
    setStatus("info", `No point has a class below ${count}; load a preset instead.`);
    $("num-classes").value = String(data.num_classes);
    return;
  }
  setRunning(false);
  try {
    const params = await api.params({ kind: "default", num_classes: count, seed: 0, features: app.setup.features });
    app.setup.data = { X: keep.map((i) => data.X[i]), y: keep.map((i) => data.y[i]), num_classes: count };
    const test = keptPoints(data, keep);
    if (test && test.some(Boolean) && !test.every(Boolean)) app.setup.data.test = test;
    afterDataReplaced(params);
  } catch (error) {
    showError(error);
  }
}

export async function loadPreset() {
  setRunning(false);
  try {
    const data = await api.dataset({
      preset: $("preset").value, num_points: Number($("preset-points").value),
      num_classes: Number($("preset-classes").value), noise: Number($("preset-noise").value),
      seed: Number($("preset-seed").value),
    });
    const params = data.num_classes === current().params.b.length
      ? current().params
      : await api.params({ kind: "default", num_classes: data.num_classes, seed: 0, features: app.setup.features });
    app.setup.data = await withSplit(data);
    afterDataReplaced(params);
  } catch (error) {
    showError(error);
  }
}

function afterDataReplaced(params) {
  clearRace();
  app.ui.selected = null;
  app.ui.hover = null;
  app.ui.addClass = Math.min(app.ui.addClass, app.setup.data.num_classes - 1);
  $("num-classes").value = String(app.setup.data.num_classes);
  buildClassPicker(app, pickClass);
  buildAxes(app, requestLandscape);
  startRun(params);
  dataChanged();
}

// A click or drag on the landscape: the server turns the axis values into W, b. While dragging
// the slice stays put (the new point lies in the same plane); it re-centres on release.
export function landscapeMoveTo(first, second, final) {
  const view = app.landscape;
  if (!view.result) return;
  app.ui.landscapeDragging = !final;
  setRunning(false);
  runOnMainLane(async () => {
    const axes = app.setup.landscape.axes;
    const params = await api.landscapePoint({ params: view.centre, axes, first, second });
    startRun(params);
    const evaluation = await api.evaluate({
      ...problem(params), grid_size: GRID_SIZE, batch: app.setup.batch, step: 0,
    });
    applyEvaluation(current(), evaluation); // redraws; re-centres the slice once released
  }, final ? null : "landscape-move");
}
