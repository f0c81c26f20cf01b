// Form controls: loss choice, log sliders, update rule and schedule inputs, minibatches, class
// picker and landscape axes. They edit app.setup and call back; main.js does the requests.

import { regularizationFormula, regularizationGradient } from "./features.js";
import { sliderValue } from "./format.js";
import { CLASS_NAMES, glyph } from "./palette.js";
import { OPTIMIZER_LABELS } from "./race.js";

const $ = (id) => document.getElementById(id);

const HYPER_LABELS = {
  momentum: "μ", decay: "decay", beta1: "β₁", beta2: "β₂", eps: "ε",
  initial_accumulator_value: "initial sum", weight_decay: "weight decay",
  step_size: "every", gamma: "× γ", decay_rate: "rate", decay_steps: "steps", final_value: "to",
};
const SCHEDULE_LABELS = {
  constant: "constant", step: "step decay", exponential: "exponential", "inverse-time": "1/t decay",
  cosine: "cosine",
};

// A log-scale slider over [low, high]: position u in [0, 1] <-> value low * (high / low) ** u.
export class LogSlider {
  constructor(input, output, [low, high], onChange) {
    this.input = input;
    this.output = output;
    this.low = low;
    this.high = high;
    input.addEventListener("input", () => {
      const value = Number((low * (high / low) ** Number(input.value)).toPrecision(2));
      this.show(value);
      onChange(value);
    });
  }

  set(value) {
    this.input.value = String(Math.log(value / this.low) / Math.log(this.high / this.low));
    this.show(value);
  }

  show(value) {
    this.output.textContent = sliderValue(value);
    this.input.setAttribute("aria-valuetext", sliderValue(value));
  }
}

export function buildLossChoice(app, onChange) {
  const container = $("loss-choice");
  container.setAttribute("role", "radiogroup");
  container.setAttribute("aria-label", "Loss");
  const short = { svm: "WW SVM", "svm-ova": "One-vs-all", "svm-structured": "Structured", softmax: "Softmax" };
  container.innerHTML = app.defaults.losses.map(({ name, label }) =>
    `<button type="button" role="radio" data-loss="${name}" data-testid="loss-${name}"
       title="${label}" aria-checked="${name === app.setup.loss}">${short[name] || label}</button>`).join("");
  container.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-loss]");
    if (!button) return;
    onChange(button.dataset.loss);
  });
  radioArrows(container, "button[data-loss]");
}

// What each loss and update rule computes (text only; slopelab computes it on the server).
const LOSS_FORMULAS = {
  svm: "L<sub>i</sub> = Σ<sub>j≠y<sub>i</sub></sub> max(0, s<sub>j</sub> − s<sub>y<sub>i</sub></sub> + 1)",
  "svm-ova": "L<sub>i</sub> = Σ<sub>j</sub> max(0, 1 − t<sub>j</sub> s<sub>j</sub>), t<sub>j</sub> = ±1",
  "svm-structured": "L<sub>i</sub> = max(0, max<sub>j≠y<sub>i</sub></sub> s<sub>j</sub> − s<sub>y<sub>i</sub></sub> + 1)",
  softmax: "L<sub>i</sub> = −log(e<sup>s<sub>y<sub>i</sub></sub></sup> / Σ<sub>j</sub> e<sup>s<sub>j</sub></sup>)",
};
const UPDATE_FORMULAS = {
  sgd: "θ ← θ − η g",
  momentum: "v ← μ v + g;   θ ← θ − η v",
  nesterov: "v ← μ v + g;   θ ← θ − η (g + μ v)",
  adagrad: "s ← s + g²;   θ ← θ − η g / (√s + ε)",
  rmsprop: "s ← ρ s + (1 − ρ) g²;   θ ← θ − η g / (√s + ε)",
  adam: "m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  θ ← θ − η m̂ / (√v̂ + ε)",
  adamw: "Adam, then θ ← θ − η·wd·θ (not on b)",
};

export function syncFormulas(app) {
  $("loss-formula").innerHTML = `${LOSS_FORMULAS[app.setup.loss]}; &nbsp;L = mean L<sub>i</sub> + ${regularizationFormula(app.setup.conventions)}`;
  $("reg-grad-formula").textContent = regularizationGradient(app.setup.conventions);
  $("update-formula").textContent = `${UPDATE_FORMULAS[app.setup.optimizer.name]},  g = ∇L`;
}

export function syncLossChoice(app) {
  syncFormulas(app);
  for (const button of $("loss-choice").querySelectorAll("button[data-loss]")) {
    const checked = button.dataset.loss === app.setup.loss;
    button.setAttribute("aria-checked", String(checked));
    button.tabIndex = checked ? 0 : -1;
  }
}

// Arrow keys move between the buttons of a radio group (WAI-ARIA radio group pattern).
export function radioArrows(container, selector) {
  container.addEventListener("keydown", (event) => {
    const delta = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
    if (!delta) return;
    const buttons = [...container.querySelectorAll(selector)];
    const index = buttons.indexOf(document.activeElement);
    if (index < 0) return;
    event.preventDefault();
    event.stopPropagation();
    const next = buttons[(index + delta + buttons.length) % buttons.length];
    next.focus();
    next.click();
  });
}

export function buildOptimizerControls(app, onChange) {
  const select = $("optimizer");
  select.innerHTML = Object.keys(app.defaults.optimizers)
    .map((name) => `<option value="${name}">${OPTIMIZER_LABELS[name] || name}</option>`).join("");
  select.addEventListener("change", () => {
    app.setup.optimizer.name = select.value;
    app.setup.optimizer.hyperparams = { ...app.defaults.optimizers[select.value].hyperparams };
    renderHyperparams(app, onChange);
    onChange("optimizer");
  });
  const schedule = $("schedule");
  schedule.innerHTML = Object.keys(app.defaults.schedules)
    .map((name) => `<option value="${name}">${SCHEDULE_LABELS[name] || name}</option>`).join("");
  schedule.addEventListener("change", () => {
    const name = schedule.value;
    app.setup.optimizer.schedule = name === "constant" ? null : { name, options: { ...app.defaults.schedules[name] } };
    renderScheduleOptions(app, onChange);
    onChange("schedule");
  });
}

export function syncOptimizerControls(app, onChange) {
  $("optimizer").value = app.setup.optimizer.name;
  $("schedule").value = app.setup.optimizer.schedule ? app.setup.optimizer.schedule.name : "constant";
  renderHyperparams(app, onChange);
  renderScheduleOptions(app, onChange);
}

function numberInputs(container, values, testPrefix, onValue) {
  container.innerHTML = Object.entries(values).map(([key, value]) =>
    `<label>${HYPER_LABELS[key] || key} <input type="number" step="any" data-key="${key}"
       data-testid="${testPrefix}-${key}" value="${value}"></label>`).join("");
  for (const input of container.querySelectorAll("input")) {
    input.addEventListener("change", () => {
      const value = Number(input.value);
      if (input.value.trim() === "" || !Number.isFinite(value)) return;
      onValue(input.dataset.key, value);
    });
  }
}

function renderHyperparams(app, onChange) {
  numberInputs($("hyperparams"), app.setup.optimizer.hyperparams, "hyper", (key, value) => {
    app.setup.optimizer.hyperparams[key] = value;
    onChange("hyperparams");
  });
}

function renderScheduleOptions(app, onChange) {
  const schedule = app.setup.optimizer.schedule;
  numberInputs($("schedule-options"), schedule ? schedule.options : {}, "schedule", (key, value) => {
    schedule.options[key] = value;
    onChange("schedule");
  });
}

export function buildClassPicker(app, onPick) {
  const picker = $("class-picker");
  const count = app.setup.data.num_classes;
  picker.innerHTML = '<span class="picker-label">add as</span>' + Array.from({ length: count }, (_, k) =>
    `<button type="button" role="radio" data-class="${k}" data-testid="class-${k}"
       aria-checked="${k === app.ui.addClass}" aria-label="class ${k} (${CLASS_NAMES[k]})"
       title="class ${k}: ${CLASS_NAMES[k]} (key ${k + 1})">${glyph(k, 16)}<span>${k}</span></button>`).join("");
  picker.onclick = (event) => {
    const button = event.target.closest("button[data-class]");
    if (button) onPick(Number(button.dataset.class));
  };
  if (!picker.dataset.arrows) {
    radioArrows(picker, "button[data-class]");
    picker.dataset.arrows = "true";
  }
  syncClassPicker(app);
}

export function syncClassPicker(app) {
  for (const button of $("class-picker").querySelectorAll("button[data-class]")) {
    const checked = Number(button.dataset.class) === app.ui.addClass;
    button.setAttribute("aria-checked", String(checked));
    button.tabIndex = checked ? 0 : -1;
  }
}

// W has a row for x0, x1 and each feature (numRows in all).
export function parameterNames(numClasses, numRows = 2) {
  const names = [];
  for (let k = 0; k < numClasses; k += 1) {
    for (let d = 0; d < numRows; d += 1) names.push(`W[${d},${k}]`);
    names.push(`b[${k}]`);
  }
  return names;
}

export function buildAxes(app, onChange) {
  const first = $("axis-first");
  const second = $("axis-second");
  const names = parameterNames(app.setup.data.num_classes, 2 + (app.setup.features || []).length);
  const axes = app.setup.landscape.axes;
  if (axes.kind === "coordinates" && (!names.includes(axes.first) || !names.includes(axes.second))) {
    axes.first = "W[0,0]";
    axes.second = "W[1,0]";
  }
  first.innerHTML = names.map((n) => `<option value="${n}">${n}</option>`).join("") +
    '<option value="random">random plane</option>';
  second.innerHTML = names.map((n) => `<option value="${n}">${n}</option>`).join("") +
    '<option value="random" disabled>random direction 2</option>';
  first.value = axes.kind === "random" ? "random" : axes.first;
  second.value = axes.kind === "random" ? "random" : axes.second;
  second.disabled = axes.kind === "random";
  first.onchange = () => {
    if (first.value === "random") {
      axes.kind = "random";
    } else {
      axes.kind = "coordinates";
      axes.first = first.value;
      if (axes.second === axes.first) axes.second = names.find((n) => n !== axes.first);
    }
    buildAxes(app, onChange);
    onChange();
  };
  second.onchange = () => {
    axes.second = second.value;
    if (axes.second === axes.first) axes.first = names.find((n) => n !== axes.second);
    buildAxes(app, onChange);
    onChange();
  };
}
