// Features and regularization conventions: the checkboxes that change the model the server
// fits. With features the model is linear in phi(x) = [x0, x1, features...] (see
// slopelab/web/features.py for the formulas and the fixed column order), so W has a row per
// feature; changing them starts a new run from the default W, b with zero feature rows.

import { api } from "./api.js";
import { buildAxes, syncFormulas } from "./controls.js";
import { refresh, requestLandscape, setRunning, showError, startRun } from "./session.js";
import { app, clearRace, markModified } from "./state.js";

const $ = (id) => document.getElementById(id);

// How the page writes each row of W (the API's names are in slopelab/web/features.py).
export const ROW_LABELS = {
  x0: "x₀", x1: "x₁", "x0^2": "x₀²", "x1^2": "x₁²", "x0*x1": "x₀x₁", "sin(x0)": "sin x₀", "sin(x1)": "sin x₁",
};

// R and its gradient under the conventions (slopelab/web/conventions.py), as the page writes them.
export function regularizationFormula(conventions = {}) {
  const sum = conventions.regularize_bias ? "(ΣW² + Σb²)" : "ΣW²";
  return `${conventions.half_l2 ? "½·" : ""}λ ${sum}`;
}

export function regularizationGradient(conventions = {}) {
  const factor = conventions.half_l2 ? "λ" : "2λ";
  return conventions.regularize_bias ? `${factor}W, ${factor}b` : `${factor}W`;
}

export const defaultFeatureSetup = () => ({
  features: [], conventions: { half_l2: false, regularize_bias: false },
});

// W's row names: x0, x1 and the chosen features, in the API's order.
export function rowNames(setup) {
  return ["x0", "x1", ...(setup.features || [])];
}

export function buildFeatureControls(onChange) {
  const box = $("feature-choice");
  box.innerHTML = app.defaults.features.map((name) =>
    `<label class="check"><input type="checkbox" value="${name}" data-testid="feature-${name}"> ${ROW_LABELS[name]}</label>`).join("");
  box.addEventListener("change", () => {
    const chosen = new Set([...box.querySelectorAll("input:checked")].map((input) => input.value));
    changeFeatures(app.defaults.features.filter((name) => chosen.has(name)), onChange); // API order
  });
  for (const key of ["half_l2", "regularize_bias"]) {
    $(`convention-${key}`).addEventListener("change", () => {
      app.setup.conventions = { ...app.setup.conventions, [key]: $(`convention-${key}`).checked };
      syncFormulas(app);
      markModified();
      refresh();
    });
  }
}

// The checkboxes show app.setup (after a link or an import).
export function syncFeatureControls() {
  const chosen = new Set(app.setup.features);
  for (const input of $("feature-choice").querySelectorAll("input")) input.checked = chosen.has(input.value);
  for (const key of ["half_l2", "regularize_bias"]) $(`convention-${key}`).checked = app.setup.conventions[key];
  document.body.dataset.features = String(app.setup.features.length > 0);
}

// W gets a new shape: a new run from the default W, b, with zero rows for the features. The
// features, W, b and the landscape axes change together, once the new W is here, so no request
// ever pairs the new features with the old W.
let latestChange = 0; // two quick clicks: only the last one's answer counts

async function changeFeatures(features, onChange) {
  setRunning(false);
  latestChange += 1;
  const change = latestChange;
  try {
    const params = await api.params({
      kind: "default", num_classes: app.setup.data.num_classes, seed: 0, features,
    });
    if (change !== latestChange) return;
    app.setup.features = features;
    document.body.dataset.features = String(features.length > 0);
    clearRace();
    startRun(params);
    buildAxes(app, requestLandscape);
    onChange();
    await refresh();
  } catch (error) {
    showError(error);
  }
}
