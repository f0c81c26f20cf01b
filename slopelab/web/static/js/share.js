// Sharing: the whole setup in the URL hash, export and import as JSON, the run's iterates as
// CSV, "copy as Python". The snapshot holds data, W and b, and every setting; the server
// validates it on load.

import { api } from "./api.js";
import { applyEvaluation, setRunning, showError, startRun } from "./session.js";
import { defaultFeatureSetup } from "./features.js";
import { GRID_SIZE, app, clearRace, current, problem } from "./state.js";
import { setStatus } from "./status.js";

export const FORMAT = "slopelab-demo";
export const VERSION = 1;

export function snapshot(app) {
  const setup = app.setup;
  return {
    format: FORMAT,
    version: VERSION,
    data: setup.data,
    params: app.timeline[app.cursor].params,
    loss: setup.loss,
    reg: setup.reg,
    optimizer: setup.optimizer,
    batch: setup.batch,
    landscape: setup.landscape,
    features: setup.features,
    conventions: setup.conventions,
  };
}

// A setup from before features and conventions existed has neither: the defaults.
function featureFields(snapshot) {
  const fields = defaultFeatureSetup();
  return {
    features: snapshot.features ?? fields.features,
    conventions: { ...fields.conventions, ...(snapshot.conventions || {}) },
  };
}

export function encodeHash(object) {
  const bytes = new TextEncoder().encode(JSON.stringify(object));
  let binary = "";
  bytes.forEach((b) => { binary += String.fromCharCode(b); });
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function decodeHash(text) {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

export function readHash(hash) {
  const match = /^#setup=([A-Za-z0-9_-]+)$/.exec(hash);
  return match ? decodeHash(match[1]) : null;
}

// Shape checks only; numbers, limits and consistency are the server's job (a 422 explains).
export function checkSnapshot(object) {
  if (!object || object.format !== FORMAT) {
    throw new Error(`not a slopelab demo setup (expected "format": "${FORMAT}")`);
  }
  for (const key of ["data", "params", "loss", "reg", "optimizer"]) {
    if (!(key in object)) throw new Error(`the setup has no "${key}"`);
  }
  return object;
}

export function download(filename, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function iteratesCsv(app) {
  const classes = app.timeline[0].params.b.length;
  const rows = app.timeline[0].params.W.length; // x0, x1 and one per feature
  const names = [];
  for (let k = 0; k < classes; k += 1) {
    for (let d = 0; d < rows; d += 1) names.push(`W[${d},${k}]`);
    names.push(`b[${k}]`);
  }
  const lines = [["step", "data_loss", "reg_loss", "total", "accuracy", ...names].join(",")];
  for (const entry of app.timeline) {
    const values = [];
    for (let k = 0; k < classes; k += 1) {
      for (let d = 0; d < rows; d += 1) values.push(entry.params.W[d][k]);
      values.push(entry.params.b[k]);
    }
    lines.push([entry.step, entry.data_loss, entry.reg_loss, entry.total, entry.accuracy, ...values].join(","));
  }
  return `${lines.join("\n")}\n`;
}

export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

// Actions behind the Share tab and the #setup= link.

export async function applySnapshot(snapshot, syncControls) {
  const evaluation = await api.evaluate({
    data: snapshot.data, params: snapshot.params, loss: snapshot.loss, reg: snapshot.reg,
    grid_size: GRID_SIZE, batch: snapshot.batch ?? null, step: 0, ...featureFields(snapshot),
  });
  app.setup = {
    ...app.setup,
    data: snapshot.data, loss: snapshot.loss, reg: snapshot.reg,
    optimizer: { hyperparams: {}, schedule: null, ...snapshot.optimizer },
    batch: snapshot.batch ?? null,
    landscape: { ...app.setup.landscape, ...(snapshot.landscape || {}) },
    ...featureFields(snapshot),
  };
  startRun(snapshot.params);
  clearRace();
  app.ui.selected = null;
  app.ui.addClass = 0;
  syncControls();
  applyEvaluation(current(), evaluation);
}

export async function shareLink() {
  history.replaceState(null, "", `#setup=${encodeHash(snapshot(app))}`);
  const copied = await copyText(location.href);
  setStatus("info", copied ? "Link copied: it opens this exact setup." : "The link to this setup is in the address bar.");
}

export async function importJson(file, syncControls) {
  try {
    const object = checkSnapshot(JSON.parse(await file.text()));
    setRunning(false);
    await applySnapshot(object, syncControls);
    setStatus("info", `Loaded ${file.name}.`);
  } catch (error) {
    setStatus("error", `Could not import ${file.name}: ${error.message}`, "error");
  }
}

export function exportJson() {
  const history = app.timeline.map(({ step, total, data_loss: d, reg_loss: r, accuracy, params, test }) => ({
    step, data_loss: d, reg_loss: r, total, accuracy, params, test: test ?? null,
  }));
  download("slopelab-demo.json", JSON.stringify({ ...snapshot(app), history }, null, 2), "application/json");
}

export async function copyPython() {
  try {
    const origin = app.timeline[0];
    const { code } = await api.python({
      ...problem(origin.params), optimizer: app.setup.optimizer, batch: app.setup.batch,
      num_steps: current().step - origin.step, modified: app.ui.modified,
    });
    document.getElementById("python-code").value = code;
    document.getElementById("python-dialog").showModal();
  } catch (error) {
    showError(error);
  }
}
