// Race mode: several update rules from the same W, b on the same data, advanced side by side
// by the server's /api/race. The page keeps each runner's state and history.

import { api } from "./api.js";
import { compact, percent } from "./format.js";
import { RUNNER_COLOURS, RUNNER_DASHES } from "./palette.js";
import { clearRace } from "./state.js";

export const OPTIMIZER_LABELS = {
  sgd: "SGD", momentum: "Momentum", nesterov: "Nesterov", adagrad: "AdaGrad",
  rmsprop: "RMSProp", adam: "Adam", adamw: "AdamW",
};
const CHECKED = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"];

export class Race {
  constructor(app, hooks) {
    this.app = app;
    this.hooks = hooks;
    this.body = document.getElementById("race-body");
  }

  build(defaults) {
    const names = Object.keys(defaults.optimizers);
    this.body.innerHTML = names.map((name, slot) => `
      <tr data-testid="race-row-${name}">
        <th scope="row"><label class="check">
          <input type="checkbox" data-runner="${name}" ${CHECKED.includes(name) ? "checked" : ""}>
          <svg width="26" height="8" aria-hidden="true"><line x1="1" y1="4" x2="25" y2="4"
            stroke="${RUNNER_COLOURS[slot % RUNNER_COLOURS.length]}" stroke-width="3"
            stroke-dasharray="${RUNNER_DASHES[slot % RUNNER_DASHES.length].join(" ")}"/></svg>
          ${OPTIMIZER_LABELS[name] || name}</label></th>
        <td><input type="number" class="race-lr" data-lr="${name}" min="0.00001" max="100" step="any"
          value="${this.app.setup.optimizer.learning_rate}" aria-label="${OPTIMIZER_LABELS[name]} step size"></td>
        <td data-testid="race-steps-${name}">–</td>
        <td data-testid="race-total-${name}">–</td>
        <td data-testid="race-accuracy-${name}">–</td>
        <td data-testid="race-status-${name}" class="race-status">–</td>
      </tr>`).join("");
    this.names = names;
  }

  start() {
    const app = this.app;
    const entry = app.timeline[app.cursor];
    const evaluation = app.evaluation;
    const runners = [];
    this.names.forEach((name, slot) => {
      const box = this.body.querySelector(`[data-runner="${name}"]`);
      if (!box.checked) return;
      const rate = Number(this.body.querySelector(`[data-lr="${name}"]`).value);
      const learningRate = Number.isFinite(rate) && rate > 0 ? rate : app.setup.optimizer.learning_rate;
      runners.push({
        id: name, slot, label: OPTIMIZER_LABELS[name] || name,
        optimizer: { name, learning_rate: learningRate, hyperparams: {}, schedule: null },
        params: entry.params, opt_state: null, step: 0, status: "ok", message: null,
        history: [{ step: 0, total: evaluation.total, accuracy: evaluation.accuracy, params: entry.params }],
      });
    });
    if (!runners.length) {
      this.hooks.status("info", "Check at least one update rule to race.");
      return;
    }
    app.race = { runners, running: true, target: Number(document.getElementById("race-steps").value) };
    app.ui.chartMode = "race";
    this.hooks.changed();
    this.loop();
  }

  stop() {
    this.app.race.running = false;
    this.hooks.changed();
  }

  clear() {
    clearRace();
    this.hooks.changed();
  }

  async loop() {
    const race = this.app.race;
    while (race.running && this.app.race === race) {
      const started = performance.now();
      const active = race.runners.filter((r) => r.status !== "diverged" && r.step < race.target);
      if (!active.length) break;
      const { stepsPerTick, interval } = this.hooks.pace();
      const numSteps = Math.max(1, Math.min(stepsPerTick * 2, race.target - active[0].step));
      const setup = this.app.setup;
      let result;
      try {
        result = await api.race({
          data: setup.data, loss: setup.loss, reg: setup.reg, batch: setup.batch, num_steps: numSteps,
          features: setup.features, conventions: setup.conventions,
          runners: active.map((r) => ({
            id: r.id, optimizer: r.optimizer, params: r.params, opt_state: r.opt_state, step: r.step,
            recent_totals: r.history.slice(-20).map((h) => h.total),
          })),
        });
      } catch (error) {
        this.hooks.status("error", error.message);
        break;
      }
      if (this.app.race !== race) return;
      for (const outcome of result.runners) {
        const runner = race.runners.find((r) => r.id === outcome.id);
        for (const record of outcome.records) {
          runner.history.push({ step: record.step, total: record.total, accuracy: record.accuracy, params: record.params });
        }
        const last = outcome.records[outcome.records.length - 1];
        if (last) Object.assign(runner, { params: last.params, opt_state: last.opt_state, step: last.step });
        runner.status = outcome.status;
        runner.message = outcome.message;
      }
      this.hooks.changed();
      const wait = interval - (performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, wait)));
    }
    race.running = false;
    this.hooks.changed();
  }

  render() {
    const race = this.app.race;
    const running = race.running;
    document.getElementById("race-start").disabled = running;
    document.getElementById("race-stop").disabled = !running;
    document.getElementById("race-clear").disabled = running || !race.runners.length;
    for (const name of this.names || []) {
      const runner = race.runners.find((r) => r.id === name);
      const cell = (what) => this.body.querySelector(`[data-testid="race-${what}-${name}"]`);
      if (!runner) {
        for (const what of ["steps", "total", "accuracy", "status"]) cell(what).textContent = "–";
        continue;
      }
      const last = runner.history[runner.history.length - 1];
      cell("steps").textContent = String(runner.step);
      cell("total").textContent = compact(last.total);
      cell("accuracy").textContent = percent(last.accuracy);
      const status = runner.status === "ok" ? (runner.step >= race.target ? "done" : "running") : runner.status;
      cell("status").textContent = status;
      cell("status").title = runner.message || "";
    }
  }
}
