// The run the page holds: the data and settings (app.setup), a timeline of iterates (each with
// its W, b, optimizer state and the server's losses), and the UI state. No numbers are made here.

import { defaultFeatureSetup } from "./features.js";

export const GRID_SIZE = 200; // background cells per side (2 px each on a 400 px canvas), drawn smoothed
export const MAX_TIMELINE = 3000; // stored iterates; beyond it the oldest (but the first) go
export const MAX_PATH = 300; // path points sent to the landscape
const RECENT = 20; // totals sent for the server's divergence check

export const app = {
  defaults: null,
  setup: null,
  timeline: [],
  cursor: 0,
  evaluation: null,
  dataVersion: 0, // counts edits of the points: losses of different versions never share a curve
  landscape: { result: null, pathRunners: [], centre: null },
  gradcheck: { result: null, demo: false },
  race: { runners: [], running: false, target: 0 },
  ui: {
    running: false, hover: null, selected: null, addClass: 0, modified: false, chartMode: "run",
    tab: "points", reducedMotion: false, landscapeDragging: false,
    marked: null, // points to ring on the data canvas (the Losses tab's hovered row)
  },
  lrScan: { result: null, steps: 50 }, // the "Learning rate" tab (lrscan.js)
};

export const current = () => app.timeline[app.cursor];

export function defaultSetup(defaults) {
  return {
    data: structuredClone(defaults.data),
    loss: defaults.loss,
    reg: defaults.reg,
    optimizer: { name: "sgd", learning_rate: defaults.learning_rate, hyperparams: {}, schedule: null },
    batch: null,
    landscape: {
      axes: { kind: "coordinates", first: "W[0,0]", second: "W[1,0]", seed: 0 },
      span: 2, size: 51, quantity: "total", log: true, follow: true,
    },
    chartLog: false,
    ...defaultFeatureSetup(),
  };
}

// The request fields every computation needs.
export function problem(params) {
  const { data, loss, reg, features, conventions } = app.setup;
  return { data, params, loss, reg, features, conventions };
}

// An iterate: W, b, the update rule and its state that produced it, and the server's losses.
export function originEntry(params) {
  return {
    step: 0, params, rule: null, opt_state: null, dataVersion: app.dataVersion,
    data_loss: null, reg_loss: null, total: null, accuracy: null,
  };
}

// dataVersion: app.dataVersion when the request was made, the data its losses are over.
export function fromRecord(record, rule, dataVersion) {
  const { step, params, opt_state: optState, data_loss: dataLoss, reg_loss: regLoss, total, accuracy } = record;
  return {
    step, params, rule, opt_state: optState, dataVersion,
    data_loss: dataLoss, reg_loss: regLoss, total, accuracy, test: record.test ?? null,
  };
}

export function setMetrics(entry, evaluation, dataVersion) {
  Object.assign(entry, {
    dataVersion, data_loss: evaluation.data_loss, reg_loss: evaluation.reg_loss,
    total: evaluation.total, accuracy: evaluation.accuracy, test: evaluation.test ?? null,
  });
}

// A new run starting at params (after a nudge, a landscape click, a reset, ...).
export function resetTimeline(params) {
  app.timeline = [originEntry(params)];
  app.cursor = 0;
  app.ui.modified = false;
}

// Races start from W, b of one class count; new data or classes end them.
export function clearRace() {
  app.race = { runners: [], running: false, target: 0 };
  app.ui.chartMode = "run";
}

// Settings or data changed in the middle of a run: "copy as Python" then says so.
export function markModified() {
  if (app.timeline.length > 1) app.ui.modified = true;
}

export function recentTotals(index) {
  return app.timeline.slice(Math.max(0, index - RECENT + 1), index + 1)
    .map((entry) => entry.total).filter(Number.isFinite);
}

export function thin(items, limit) {
  if (items.length <= limit) return items;
  const stride = (items.length - 1) / (limit - 1);
  return Array.from({ length: limit }, (_, i) => items[Math.round(i * stride)]);
}

// Updates per request and milliseconds between requests for a speed in updates per second.
export function pace(speed) {
  if (speed >= 300) return { stepsPerTick: 5, interval: 16 };
  return { stepsPerTick: 1, interval: 1000 / speed };
}
