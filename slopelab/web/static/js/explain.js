// The Explain tab: one point's part in a full-batch update, in the lecture's notation, from
// /api/explain. It asks only while its tab is shown, and only when what it shows has changed
// (the W, b, data, loss, reg, update rule or the selected point); nothing is computed here.

import { Lane, api } from "./api.js";
import { fixed } from "./format.js";
import { ROW_LABELS, regularizationGradient, rowNames } from "./features.js";
import { glyph } from "./palette.js";
import { hooks, showError } from "./session.js";
import { app, current, problem } from "./state.js";

const lane = new Lane();
// params: the W, b asked about; shown: what the panel shows now (it is rebuilt only on change)
const view = { key: null, result: null, asked: null, params: null, shown: null };
let timer = null;
const RULE_NAMES = {
  sgd: "SGD", momentum: "momentum", nesterov: "Nesterov momentum", adagrad: "AdaGrad",
  rmsprop: "RMSProp", adam: "Adam", adamw: "AdamW",
};

// The request for the selected point, or null without one.
function request() {
  const index = app.ui.selected;
  if (index === null || index >= app.setup.data.X.length) return null;
  const entry = current();
  const rule = app.setup.optimizer.name;
  return {
    ...problem(entry.params), index, optimizer: app.setup.optimizer,
    // as a step does: an iterate made by another rule carries that rule's state
    opt_state: entry.rule === rule ? entry.opt_state : null,
  };
}

export function requestExplain() {
  if (app.ui.tab !== "explain") return;
  const body = request();
  const key = body && JSON.stringify(body);
  if (key === view.asked) return;
  view.asked = key;
  clearTimeout(timer);
  if (body === null) {
    view.key = null;
    view.result = null;
    hooks.render();
    return;
  }
  timer = setTimeout(() => {
    lane.run(async () => {
      const result = await api.explain(body);
      Object.assign(view, { key, result, params: body.params });
      hooks.render();
    }, "explain").catch((error) => {
      view.asked = null; // ask again on the next change
      showError(error);
    });
  }, app.ui.running ? 400 : 30);
}

// The next point (the first without a selection).
export function nextPoint() {
  const count = app.setup.data.X.length;
  return app.ui.selected === null ? 0 : (app.ui.selected + 1) % count;
}

export function renderExplain(panel, body, title) {
  const selected = app.ui.selected;
  const result = view.result;
  panel.dataset.state = view.key === view.asked ? "current" : "pending";
  const shown = selected === null ? null : `${view.key}|${Boolean(app.setup.batch)}`;
  if (view.shown === shown && body.dataset.filled === "true") return;
  view.shown = shown;
  if (selected === null) {
    title.textContent = "No point selected: click one on the data canvas, or press Next point.";
    body.innerHTML = "";
    body.dataset.filled = "true";
    return;
  }
  if (!result) return;
  body.dataset.filled = "true";
  const { x, label, index } = result;
  title.innerHTML = `Point <b>#${index}</b>: x<sub>i</sub> = (${fixed(x[0])}, ${fixed(x[1])}), ` +
    `y<sub>i</sub> = ${glyph(label, 11)} ${label}`;
  const heldOut = result.held_out
    ? `<p class="formula explain-line" data-testid="explain-held-out">A held-out test point: ` +
      `it is not in the training loss, so its share of the gradient is 0 and it does not move W.</p>`
    : "";
  body.innerHTML = scoresTable(result) + lossLine(result) + heldOut + gradientTable(result) +
    updateNote(result);
}

const num = (value, digits = 3) => (value === null ? "–" : fixed(value, digits));
const classHeads = (count) => Array.from({ length: count }, (_, j) => `<th scope="col">j = ${j} ${glyph(j, 11)}</th>`).join("");
const cells = (values, extra = () => "") => values.map((v, j) => `<td${extra(j)}>${num(v)}</td>`).join("");

// x₀W[0,j] + x₁W[1,j] + one term per feature row: the score the server computed from phi(x).
function scoreTerms() {
  return rowNames(app.setup).map((row, d) => `${ROW_LABELS[row] || row}·W[${d},j]`).join(" + ");
}

function scoresTable(result) {
  const { scores, terms, label, dscores } = result;
  const C = scores.length;
  const own = (j) => (j === label ? ' class="own"' : "");
  const rows = [
    `<tr><th scope="row" class="score-formula" data-testid="explain-score-formula">s<sub>j</sub> = ${scoreTerms()} + b<sub>j</sub></th>${cells(scores, own)}</tr>`,
  ];
  const activeCell = (j) => (terms.active && terms.active[j] ? ' class="active"' : own(j));
  if (terms.kind === "ww" || terms.kind === "structured") {
    rows.push(`<tr><th scope="row">margin s<sub>j</sub> − s<sub>y<sub>i</sub></sub> + Δ</th>${cells(terms.margins, own)}</tr>`);
    rows.push(`<tr data-testid="explain-hinges"><th scope="row">hinge max(0, margin)</th>${cells(terms.hinges, activeCell)}</tr>`);
  } else if (terms.kind === "ova") {
    rows.push(`<tr><th scope="row">t<sub>j</sub> (+1 own class, −1 other)</th>${cells(terms.targets, own)}</tr>`);
    rows.push(`<tr><th scope="row">margin Δ − t<sub>j</sub>s<sub>j</sub></th>${cells(terms.margins, own)}</tr>`);
    rows.push(`<tr data-testid="explain-hinges"><th scope="row">hinge max(0, margin)</th>${cells(terms.hinges, activeCell)}</tr>`);
  } else {
    rows.push(`<tr><th scope="row">p<sub>j</sub> = e<sup>s<sub>j</sub></sup> / Σ<sub>k</sub> e<sup>s<sub>k</sub></sup></th>${cells(terms.probabilities, own)}</tr>`);
  }
  rows.push(`<tr><th scope="row">∂L<sub>i</sub>/∂s<sub>j</sub></th>${cells(dscores, own)}</tr>`);
  return `<div class="table-scroll explain-scroll"><table class="explain-table" data-testid="explain-scores">
    <thead><tr><th scope="col">class</th>${classHeads(C)}</tr></thead><tbody>${rows.join("")}</tbody></table></div>`;
}

function lossLine(result) {
  const { terms, label, example_loss: loss } = result;
  const value = `<output data-testid="explain-loss">${fixed(loss, 4)}</output>`;
  let text;
  if (terms.kind === "softmax") {
    text = `L<sub>i</sub> = −log p<sub>y<sub>i</sub></sub> = −log ${num(terms.probabilities[label], 4)} = ${value}`;
  } else {
    const counted = terms.hinges.map((h, j) => (terms.active[j] ? num(h) : null)).filter((h) => h !== null);
    const which = {
      ww: "the sum of the hinges of the other classes",
      structured: `the hinge of the rival class r = ${terms.rival} (the highest wrong score) only`,
      ova: "the sum of every class's hinge, its own class included",
    }[terms.kind];
    text = `L<sub>i</sub> = ${which} = ${counted.length ? counted.join(" + ") : "0"} = ${value}`;
  }
  return `<p class="formula explain-line">${text} (Δ = 1)</p>`;
}

function gradientTable(result) {
  const { share, reg_grad: regGrad, reg_grad_b: regGradB, grads, update, num_examples: N, label } = result;
  const params = view.params;
  const C = params.b.length;
  const names = rowNames(app.setup);
  const rows = [];
  const step = update.delta;
  for (let j = 0; j < C; j += 1) {
    const entries = names.map((row, d) => [
      `W[${d},${j}]`, ROW_LABELS[row] || row, params.W[d][j], share.W[d][j], regGrad[d][j],
      grads.W[d][j], step && step.W[d][j],
    ]);
    entries.push([`b[${j}]`, "bias", params.b[j], share.b[j], regGradB[j], grads.b[j], step && step.b[j]]);
    for (const [name, what, value, part, reg, full, delta] of entries) {
      const serverAfter = update.params ? pick(update.params, name) : null;
      rows.push(`<tr class="${j === label ? "own-class" : ""}" data-param="${name}"><th scope="row" title="${what}">${name}</th>
        <td>${num(value)}</td><td data-testid="share-${name}">${num(part, 4)}</td><td>${num(reg, 4)}</td>
        <td>${num(full, 4)}</td><td data-testid="delta-${name}">${num(delta, 4)}</td>
        <td data-testid="after-${name}">${num(serverAfter, 4)}</td></tr>`);
    }
  }
  const conventions = app.setup.conventions || {};
  const regGradient = regularizationGradient(conventions);
  const bias = conventions.regularize_bias ? "the bias is regularized too" : "the bias is not regularized";
  return `<div class="table-scroll explain-scroll"><table class="explain-table" data-testid="explain-gradient">
    <thead><tr><th scope="col">parameter</th><th scope="col">now</th>
      <th scope="col" title="this point's share of the data gradient">x<sub>i</sub>·∂L<sub>i</sub>/∂s / N</th>
      <th scope="col" title="the regularization gradient">λ·∂R = ${regGradient}</th>
      <th scope="col" title="all N points' shares plus the regularization gradient">∂L/∂· (all)</th>
      <th scope="col" title="the change the next full-batch step makes">step</th>
      <th scope="col">after the step</th></tr></thead>
    <tbody>${rows.join("")}</tbody></table></div>
    <p class="hint">N = ${N}: the shares of all ${N} training points plus ${regGradient} add up to ∂L (${bias}).</p>`;
}

function pick(params, name) {
  const match = /^(W)\[(\d+),(\d+)\]$|^b\[(\d+)\]$/.exec(name);
  return match[1] ? params.W[Number(match[2])][Number(match[3])] : params.b[Number(match[4])];
}

function updateNote(result) {
  const { update } = result;
  if (!update.params) return `<p class="formula explain-line error-text">${update.message}</p>`;
  const rate = num(update.learning_rate, 4);
  const rule = update.rule;
  const batch = app.setup.batch
    ? " With minibatches on, Step uses only the batch's gradient; this panel shows the full-batch step."
    : "";
  const text = rule === "sgd"
    ? `SGD, full batch: W ← W − η·∂L/∂W with η = ${rate}, so step = −${rate} × ∂L/∂·.`
    : `${RULE_NAMES[rule] || rule}, full batch, η = ${rate}: the step comes from the rule's state ` +
      `(velocity, accumulated squared gradients or moments), so it is not −η·∂L/∂W; the column shows the update /api/step makes from this state.`;
  return `<p class="formula explain-line" data-testid="explain-update">${text}${batch}</p>`;
}
