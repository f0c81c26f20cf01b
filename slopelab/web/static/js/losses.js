// The Losses tab: the current W, b under all four losses side by side (/api/losses), and the
// points each one still penalizes (L_i > 0). Hovering a row rings those points on the data
// canvas (app.ui.marked); hovering a point number rings that one. Asks only while shown.

import { Lane, api } from "./api.js";
import { fixed } from "./format.js";
import { hooks, showError } from "./session.js";
import { app, current } from "./state.js";

const lane = new Lane();
const view = { key: null, result: null, asked: null, shown: null };
let timer = null;

export function requestLosses() {
  if (app.ui.tab !== "losses") return;
  const { data, reg, features, conventions } = app.setup;
  const body = { data, params: current().params, reg, features, conventions };
  const key = JSON.stringify(body);
  if (key === view.asked) return;
  view.asked = key;
  clearTimeout(timer);
  timer = setTimeout(() => {
    lane.run(async () => {
      const result = await api.losses(body);
      Object.assign(view, { key, result });
      hooks.render();
    }, "losses").catch((error) => {
      view.asked = null;
      showError(error);
    });
  }, app.ui.running ? 400 : 30);
}

export function renderLosses(panel, body) {
  panel.dataset.state = view.key !== null && view.key === view.asked ? "current" : "pending";
  const result = view.result;
  const shown = `${view.key}|${app.setup.loss}`;
  if (!result || view.shown === shown) return; // rebuilt only when it changes, not every frame
  view.shown = shown;
  const N = result.num_examples;
  body.innerHTML = result.losses.map((row) => {
    const inUse = row.name === app.setup.loss;
    const points = row.penalized.map((i) =>
      `<button type="button" class="point-chip" data-point="${i}" title="L_${i} = ${fixed(row.example_losses[i], 3)}">${i}</button>`).join("");
    return `<tr data-loss="${row.name}" data-testid="losses-row-${row.name}" class="${inUse ? "in-use" : ""}">
      <th scope="row">${row.label}${inUse ? " <span class=\"muted\">(in use)</span>" : ""}</th>
      <td data-testid="losses-total-${row.name}"><b>${fixed(row.total, 3)}</b></td>
      <td>${fixed(row.data_loss, 3)}</td><td>${fixed(row.reg_loss, 3)}</td>
      <td data-testid="losses-count-${row.name}">${row.penalized.length} / ${N}</td>
      <td class="chips">${points || '<span class="muted">none</span>'}</td></tr>`;
  }).join("");
}

// Hover and click on the table: a row rings its penalized points, a point number selects it.
export function wireLosses(body, edits) {
  body.addEventListener("pointerover", (event) => {
    const chip = event.target.closest("button[data-point]");
    if (chip) {
      edits.hover(Number(chip.dataset.point));
      return;
    }
    const row = event.target.closest("tr[data-loss]");
    setMarked(row ? penalizedBy(row.dataset.loss) : null);
  });
  body.addEventListener("pointerleave", () => {
    setMarked(null);
    edits.hover(null);
  });
  body.addEventListener("click", (event) => {
    const chip = event.target.closest("button[data-point]");
    if (chip) edits.select(Number(chip.dataset.point));
  });
}

function penalizedBy(name) {
  const row = view.result && view.result.losses.find((r) => r.name === name);
  return row ? row.penalized : null;
}

function setMarked(indices) {
  app.ui.marked = indices;
  hooks.render();
}
