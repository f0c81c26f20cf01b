// Tables and read-outs: totals, the W/b panel with gradients and nudges, the per-point table.

import { compact, fixed, percent } from "./format.js";
import { ROW_LABELS, rowNames } from "./features.js";
import { CLASS_NAMES, glyph } from "./palette.js";

const $ = (id) => document.getElementById(id);

export function renderTotals(app) {
  const evaluation = app.evaluation;
  if (!evaluation) return;
  $("data-loss").textContent = total(evaluation.data_loss);
  $("reg-loss").textContent = total(evaluation.reg_loss);
  $("total-loss").textContent = total(evaluation.total);
  $("accuracy").textContent = percent(evaluation.accuracy);
}

// Two decimals as in the CS231n demo; a diverging run's huge losses in exponent form.
const total = (value) => (Math.abs(value) < 1e5 ? fixed(value) : compact(value));

// W and b with gradients and nudges, in one of two layouts: "classes", one row per class (the
// lecture's W, C x D, s = W x + b) or "api", one row per input of W (D x C, s = x W + b) and a
// row for b. Either way the cells are named by the API's indices W[d,k] and b[k].
export class ParamPanel {
  constructor(body, onNudge, head = null, note = null) {
    this.body = body;
    this.head = head;
    this.note = note;
    this.onNudge = onNudge;
    this.shape = null;
    body.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-nudge]");
      if (!button) return;
      this.onNudge(button.dataset.key, button.dataset.index.split(",").map(Number), Number(button.dataset.nudge));
    });
  }

  build(numClasses, rows, layout) {
    const classHead = (k) => `${glyph(k)}<span class="visually-hidden">class ${k} (${CLASS_NAMES[k]})</span> ${k}`;
    const lines = [];
    if (layout === "api") {
      rows.forEach((name, d) => {
        const cells = Array.from({ length: numClasses }, (_, k) => paramCell("W", [d, k]));
        lines.push(`<tr class="w-row"><th scope="row">${ROW_LABELS[name]} <span class="muted">W[${d},·]</span></th>${cells.join("")}</tr>`);
      });
      const biases = Array.from({ length: numClasses }, (_, k) => paramCell("b", [k]));
      lines.push(`<tr class="b-row"><th scope="row">b</th>${biases.join("")}</tr>`);
    } else {
      for (let k = 0; k < numClasses; k += 1) {
        const cells = [...rows.map((_, d) => paramCell("W", [d, k])), paramCell("b", [k])];
        lines.push(`<tr class="class-row-${k}"><th scope="row">${classHead(k)}</th>${cells.join("")}</tr>`);
      }
    }
    this.body.innerHTML = lines.join("");
    if (this.head) {
      const heads = layout === "api"
        ? ['<th scope="col">input</th>', ...Array.from({ length: numClasses }, (_, k) => `<th scope="col">${classHead(k)}</th>`)]
        : ['<th scope="col">class</th>', ...rows.map((name, d) => `<th scope="col">W[${d},k]${rows.length > 2 ? ` <span class="muted">${ROW_LABELS[name]}</span>` : ""}</th>`), '<th scope="col">b[k]</th>'];
      this.head.innerHTML = `<tr>${heads.join("")}</tr>`;
    }
    if (this.note) {
      const [D, C] = [rows.length, numClasses];
      this.note.textContent = layout === "api"
        ? `W as the API stores it: D × C = ${D} × ${C}, one row per input, s = x W + b`
        : `W as the lecture writes it: C × D = ${C} × ${D}, one row per class, s = W x + b (the API stores the transpose)`;
    }
  }

  render(app) {
    const params = app.timeline[app.cursor].params;
    const numClasses = params.b.length;
    const rows = rowNames(app.setup).slice(0, params.W.length);
    const layout = app.ui.paramLayout || "classes";
    const shape = `${numClasses}:${rows.join(",")}:${layout}`;
    if (this.shape !== shape) {
      this.build(numClasses, rows, layout);
      this.shape = shape;
    }
    const evaluation = app.evaluation;
    const batch = evaluation && evaluation.batch;
    const entries = [];
    for (let k = 0; k < numClasses; k += 1) {
      rows.forEach((_, d) => entries.push(["W", [d, k]]));
      entries.push(["b", [k]]);
    }
    for (const [key, index] of entries) {
      const id = `${key}-${index.join("-")}`;
      const pick = (values) => (key === "W" ? values.W[index[0]][index[1]] : values.b[index[0]]);
      this.body.querySelector(`[data-testid="value-${id}"]`).textContent = fixed(pick(params));
      // an evaluation of another shape (features just changed) is not shown
      if (evaluation && evaluation.grads.W.length === rows.length) {
        this.body.querySelector(`[data-testid="grad-${id}"]`).textContent = fixed(pick(evaluation.grads));
      }
      const batchCell = this.body.querySelector(`[data-testid="batch-grad-${id}"]`);
      batchCell.hidden = !batch;
      if (batch && batch.grads.W.length === rows.length) batchCell.textContent = fixed(pick(batch.grads));
    }
    $("batch-grad-note").hidden = !batch;
    const scroller = this.body.closest(".param-scroll");
    if (scroller) $("param-scroll-hint").hidden = scroller.scrollWidth <= scroller.clientWidth + 1;
  }
}

function paramCell(key, index) {
  const name = `${key}[${index.join(",")}]`;
  const id = `${key}-${index.join("-")}`;
  return `<td class="pcell"><div class="pcell-inner">
    <button type="button" class="nudge" data-key="${key}" data-index="${index}" data-nudge="-1"
      data-testid="nudge-down-${id}" aria-label="Decrease ${name} by 0.1" title="${name} − 0.1">▼</button>
    <span class="pnumbers">
      <span class="pvalue" data-testid="value-${id}">–</span>
      <span class="pgrad" data-testid="grad-${id}" title="∂L/∂${name}">–</span>
      <span class="pbatch" data-testid="batch-grad-${id}" title="minibatch ∂L/∂${name}" hidden>–</span>
    </span>
    <button type="button" class="nudge" data-key="${key}" data-index="${index}" data-nudge="1"
      data-testid="nudge-up-${id}" aria-label="Increase ${name} by 0.1" title="${name} + 0.1">▲</button>
  </div></td>`;
}

// One row per point: coordinates, label, scores (active hinge terms boxed), L_i.
export class PointsTable {
  constructor(head, body, foot, onHover) {
    this.head = head;
    this.body = body;
    this.foot = foot;
    this.rowsShown = -1;
    this.classesShown = -1;
    body.addEventListener("pointerover", (event) => {
      const row = event.target.closest("tr[data-index]");
      if (row) onHover(Number(row.dataset.index));
    });
    body.addEventListener("pointerleave", () => onHover(null));
  }

  render(app) {
    const evaluation = app.evaluation;
    if (!evaluation) return;
    const { X, y, num_classes: numClasses } = app.setup.data;
    const points = evaluation.points;
    // the data may have changed since this evaluation (a point added or deleted meanwhile)
    const count = Math.min(points.losses.length, X.length);
    if (this.classesShown !== numClasses) {
      const scoreHeads = Array.from({ length: numClasses }, (_, k) => `<th scope="col">s<sub>${k}</sub> ${glyph(k, 11)}</th>`);
      this.head.innerHTML = `<tr><th scope="col">#</th><th scope="col">x<sub>0</sub></th><th scope="col">x<sub>1</sub></th>` +
        `<th scope="col">label</th>${scoreHeads.join("")}<th scope="col">L<sub>i</sub></th></tr>`;
      this.classesShown = numClasses;
      this.rowsShown = -1;
    }
    if (this.rowsShown !== count) {
      const cells = Array.from({ length: numClasses + 5 }, () => "<td></td>").join("");
      this.body.innerHTML = Array.from({ length: count }, (_, i) => `<tr data-index="${i}" data-testid="point-row-${i}">${cells}</tr>`).join("");
      this.rowsShown = count;
    }
    const inBatch = new Set(evaluation.batch ? evaluation.batch.indices : []);
    const rows = this.body.rows;
    for (let i = 0; i < count; i += 1) {
      const row = rows[i];
      const c = row.cells;
      c[0].textContent = String(i);
      c[1].textContent = fixed(X[i][0]);
      c[2].textContent = fixed(X[i][1]);
      c[3].innerHTML = `${glyph(y[i], 11)} ${y[i]}`;
      for (let k = 0; k < numClasses; k += 1) {
        const cell = c[4 + k];
        cell.textContent = fixed(points.scores[i][k]);
        cell.classList.toggle("active", Boolean(points.active[i][k]));
        cell.classList.toggle("own", k === y[i]);
        cell.title = points.active[i][k] === true ? `hinge term of class ${k} is active` : "";
      }
      const lossCell = c[4 + numClasses];
      lossCell.textContent = fixed(points.losses[i]);
      lossCell.classList.toggle("zero", points.losses[i] === 0);
      row.classList.toggle("hover", app.ui.hover === i);
      row.classList.toggle("selected", app.ui.selected === i);
      row.classList.toggle("in-batch", inBatch.has(i));
      row.classList.toggle("wrong", points.predicted[i] !== y[i]);
      const heldOut = Boolean(app.setup.data.test && app.setup.data.test[i]);
      row.classList.toggle("held-out", heldOut);
      c[0].textContent = heldOut ? `${i} test` : String(i);
    }
    // held-out rows (heldout.js) are not in the training mean
    const mean = app.setup.data.test ? "mean over train points = data loss" : "mean = data loss";
    this.foot.innerHTML = `<tr><th scope="row" colspan="${4 + numClasses}">${mean}</th>` +
      `<td data-testid="points-mean">${fixed(evaluation.data_loss)}</td></tr>`;
  }
}

export function renderHeader(app) {
  const entry = app.timeline[app.cursor];
  const last = app.timeline[app.timeline.length - 1];
  const timeline = $("timeline");
  timeline.max = String(app.timeline.length - 1);
  timeline.value = String(app.cursor);
  timeline.setAttribute("aria-valuetext", `step ${entry.step} of ${last.step}`);
  $("step-count").textContent = app.cursor === app.timeline.length - 1
    ? `step ${entry.step}`
    : `step ${entry.step} / ${last.step}`;
  $("back-button").disabled = app.cursor === 0;
  const run = $("run-button");
  run.setAttribute("aria-pressed", String(app.ui.running));
  run.querySelector(".run-label").textContent = app.ui.running ? "Stop" : "Run";
  run.classList.toggle("running", app.ui.running);
  document.title = `${fixed(app.evaluation ? app.evaluation.total : NaN)} · slopelab demo`;
}
