// Held-out points: the Data tab's test fraction and seed ask the server for a mask
// (/api/split); the mask lives in app.setup.data.test, so every request, the share link and
// the JSON export carry it, and each point keeps its role through edits. The server trains on
// the train points only and reports the test points' loss and accuracy.

import { api } from "./api.js";
import { fixed, percent } from "./format.js";

const $ = (id) => document.getElementById(id);

export const isTest = (data, i) => Boolean(data.test && data.test[i]);

// The data with a fresh mask for the chosen fraction and seed (no mask for 0%).
export async function withSplit(data) {
  const fraction = Number($("test-fraction").value);
  const { test: _old, ...rest } = data;
  if (!fraction) return rest;
  const seed = Math.max(0, Math.min(4294967295, Math.round(Number($("test-seed").value) || 0)));
  $("test-seed").value = String(seed);
  const { test } = await api.split({ num_points: data.X.length, fraction, seed });
  return { ...rest, test };
}

// The "Hold out" choice that matches a mask from a link or a file (a share link carries the
// mask, not the fraction): the listed fraction nearest the held-out share, "no points" without
// one. Otherwise the select read "no points" beside a split, and a new seed dropped the split.
export function syncSplitControl(data) {
  const select = $("test-fraction");
  if (!data.test) {
    select.value = "0";
    return;
  }
  const share = data.test.filter(Boolean).length / data.X.length;
  const options = [...select.options].map((o) => o.value).filter((v) => Number(v) > 0);
  select.value = options.reduce((best, v) =>
    (Math.abs(Number(v) - share) < Math.abs(Number(best) - share) ? v : best));
}

// Point edits keep the other points' roles; a new point trains.
export function addedPoint(data) {
  if (data.test) data.test.push(false);
}

export function onlyTrainPoint(data, index) {
  return Boolean(data.test) && !data.test[index] && data.test.filter((t) => !t).length === 1;
}

export function removedPoint(data, index) {
  if (data.test) data.test.splice(index, 1);
  dropEmptyMask(data);
}

export function keptPoints(data, keep) {
  return data.test ? keep.map((i) => data.test[i]) : undefined;
}

// A mask with no test point left is no split.
export function dropEmptyMask(data) {
  if (data.test && !data.test.some(Boolean)) delete data.test;
}

export function renderHeldOut(app) {
  const data = app.setup.data;
  const count = data.test ? data.test.filter(Boolean).length : 0;
  $("test-count").textContent = count
    ? `${count} of ${data.X.length} points held out (hollow): trained on the other ${data.X.length - count}`
    : "No held-out points: training uses every point.";
  $("legend-test").hidden = !count;
  $("accuracy").previousElementSibling.textContent = count ? "train accuracy" : "accuracy";
  const test = app.evaluation && app.evaluation.test;
  for (const id of ["test-loss-box", "test-accuracy-box"]) $(id).hidden = !test;
  $("test-loss").textContent = test ? fixed(test.data_loss) : "–";
  $("test-accuracy").textContent = test ? percent(test.accuracy) : "–";
  $("data-canvas").dataset.test = data.test ? data.test.flatMap((t, i) => (t ? [i] : [])).join(",") : "";
}
