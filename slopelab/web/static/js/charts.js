// Loss and accuracy against steps, for the run (data, regularization, total) or for a race
// (one total-loss curve per update rule). Values are the server's records; this only plots.

import { fitCanvas, niceTicks } from "./canvas.js";
import { compact, percent } from "./format.js";
import { RUNNER_COLOURS, RUNNER_DASHES, SERIES } from "./palette.js";

const MARGIN = { left: 48, right: 10, top: 10, bottom: 24 };
const LOG_FLOOR = 1e-4;

export class Charts {
  constructor(lossCanvas, accuracyCanvas, readout, handlers) {
    this.lossCanvas = lossCanvas;
    this.accuracyCanvas = accuracyCanvas;
    this.readout = readout;
    this.handlers = handlers;
    this.hoverStep = null;
    this.frames = new Map();
    for (const canvas of [lossCanvas, accuracyCanvas]) {
      canvas.addEventListener("pointermove", (e) => this.onHover(canvas, e));
      canvas.addEventListener("pointerleave", () => {
        this.hoverStep = null;
        this.handlers.redraw();
      });
    }
  }

  series(app) {
    if (app.ui.chartMode === "race" && app.race.runners.length) {
      return app.race.runners.map((runner, i) => ({
        label: runner.label,
        colour: RUNNER_COLOURS[runner.slot % RUNNER_COLOURS.length],
        dash: RUNNER_DASHES[runner.slot % RUNNER_DASHES.length],
        steps: runner.history.map((h) => h.step),
        loss: runner.history.map((h) => h.total),
        accuracy: runner.history.map((h) => h.accuracy),
        width: i === 0 ? 2 : 2,
      }));
    }
    const entries = app.timeline;
    const steps = entries.map((e) => e.step);
    // losses over edited points are another function: a new segment, never joined to the old
    const starts = new Set(entries.map((e, i) => i).filter((i) => i > 0 && entries[i].dataVersion !== entries[i - 1].dataVersion));
    return [
      { label: "total", colour: SERIES.total, dash: [], steps, starts, loss: entries.map((e) => e.total), width: 2.25,
        accuracy: entries.map((e) => e.accuracy) },
      { label: "data", colour: SERIES.data, dash: [6, 3], steps, starts, loss: entries.map((e) => e.data_loss), width: 1.75 },
      { label: "regularization", colour: SERIES.reg, dash: [2, 2.5], steps, starts, loss: entries.map((e) => e.reg_loss), width: 1.75 },
      ...testSeries(entries),
    ];
  }

  onHover(canvas, event) {
    const frame = this.frames.get(canvas);
    if (!frame) return;
    const rect = canvas.getBoundingClientRect();
    const px = event.clientX - rect.left;
    const step = frame.x0 + ((px - frame.left) / frame.width) * (frame.x1 - frame.x0);
    this.hoverStep = Math.round(step);
    this.handlers.redraw();
  }

  render(app) {
    const series = this.series(app);
    const allSteps = series.flatMap((s) => s.steps);
    const x0 = allSteps.length ? Math.min(...allSteps) : 0;
    const x1 = Math.max(x0 + 10, ...(allSteps.length ? allSteps : [10]));
    const logScale = app.setup.chartLog;
    const lossValues = series.flatMap((s) => s.loss).filter(Number.isFinite);
    let y0 = 0;
    let y1 = Math.max(1e-9, ...lossValues) * 1.05;
    if (logScale) {
      y0 = Math.log10(Math.max(LOG_FLOOR, Math.min(...lossValues.filter((v) => v > 0), 1)));
      y1 = Math.log10(Math.max(LOG_FLOOR * 10, ...lossValues)) + 0.05;
      y0 = Math.floor(y0);
    }
    const cursorStep = app.ui.chartMode === "race" ? null : app.timeline[app.cursor]?.step ?? null;
    this.drawChart(this.lossCanvas, {
      series, key: "loss", x0, x1, y0, y1, logScale, cursorStep,
      format: compact,
    });
    this.drawChart(this.accuracyCanvas, {
      series: series.filter((s) => s.accuracy), key: "accuracy", x0, x1, y0: 0, y1: 1,
      logScale: false, cursorStep, format: percent,
    });
    this.renderReadout(app, series);
    this.lossCanvas.dataset.segments = segments(series[0]).map((s) => s.length).join(",");
  }

  drawChart(canvas, { series, key, x0, x1, y0, y1, logScale, cursorStep, format }) {
    const { ctx, width, height } = fitCanvas(canvas);
    const frame = {
      left: MARGIN.left, top: MARGIN.top,
      width: Math.max(10, width - MARGIN.left - MARGIN.right),
      height: Math.max(10, height - MARGIN.top - MARGIN.bottom),
      x0, x1,
    };
    this.frames.set(canvas, frame);
    const transform = (v) => (logScale ? Math.log10(Math.max(LOG_FLOOR, v)) : v);
    const px = (step) => frame.left + ((step - x0) / (x1 - x0)) * frame.width;
    const py = (v) => frame.top + (1 - (transform(v) - y0) / (y1 - y0)) * frame.height;
    ctx.clearRect(0, 0, width, height);
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillStyle = "#1d2433";
    ctx.strokeStyle = "#d5d8de";
    ctx.lineWidth = 1;
    const yTicks = logScale
      ? Array.from({ length: Math.ceil(y1) - Math.floor(y0) + 1 }, (_, i) => Math.floor(y0) + i)
        .filter((t) => t >= y0 && t <= y1)
      : niceTicks(y0, y1, 4);
    ctx.textAlign = "right";
    for (const t of yTicks) {
      const y = frame.top + (1 - (t - y0) / (y1 - y0)) * frame.height;
      ctx.beginPath();
      ctx.moveTo(frame.left, y);
      ctx.lineTo(frame.left + frame.width, y);
      ctx.stroke();
      ctx.fillText(logScale ? tickLabel(10 ** t) : format === percent ? percent(t) : tickLabel(t), frame.left - 5, y + 4);
    }
    ctx.textAlign = "center";
    for (const t of niceTicks(x0, x1, 5).filter((v) => Number.isInteger(v))) {
      ctx.fillText(String(t), px(t), frame.top + frame.height + 15);
    }
    ctx.textAlign = "start";
    ctx.strokeStyle = "#1d2433";
    ctx.strokeRect(frame.left + 0.5, frame.top + 0.5, frame.width, frame.height);
    ctx.save();
    ctx.beginPath();
    ctx.rect(frame.left, frame.top, frame.width, frame.height);
    ctx.clip();
    for (const s of series) {
      const values = s[key];
      if (!values || !values.length) continue;
      ctx.strokeStyle = s.colour;
      ctx.lineWidth = s.width;
      ctx.setLineDash(s.dash);
      ctx.lineJoin = "round";
      for (const indices of segments(s)) {
        ctx.beginPath();
        indices.forEach((i, k) => {
          if (k === 0) ctx.moveTo(px(s.steps[i]), py(values[i]));
          else ctx.lineTo(px(s.steps[i]), py(values[i]));
        });
        if (indices.length === 1) ctx.arc(px(s.steps[indices[0]]), py(values[indices[0]]), 2, 0, 2 * Math.PI);
        ctx.stroke();
      }
    }
    ctx.setLineDash([]);
    for (const [step, colour, dash] of [[cursorStep, "rgba(29,36,51,0.55)", [3, 3]], [this.hoverStep, "#1d2433", []]]) {
      if (step === null || step === undefined || step < x0 || step > x1) continue;
      ctx.strokeStyle = colour;
      ctx.setLineDash(dash);
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.moveTo(px(step), frame.top);
      ctx.lineTo(px(step), frame.top + frame.height);
      ctx.stroke();
    }
    ctx.restore();
    ctx.setLineDash([]);
  }

  renderReadout(app, series) {
    const latest = app.ui.chartMode === "race"
      ? Math.max(...series.map((s) => s.steps[s.steps.length - 1] ?? 0))
      : app.timeline[app.cursor]?.step;
    const step = this.hoverStep ?? latest;
    if (step === null || step === undefined) {
      this.readout.textContent = "\u00a0";
      return;
    }
    const parts = [];
    for (const s of series) {
      const index = nearestIndex(s.steps, step);
      if (index === null) continue;
      const accuracy = s.accuracy ? ` (${percent(s.accuracy[index])})` : "";
      parts.push(`${s.label} ${compact(s.loss[index])}${accuracy}`);
    }
    this.readout.textContent = `step ${step}: ${parts.join(" · ")}`;
  }
}

// Held-out points (heldout.js): their data loss and accuracy, over the iterates that have them.
function testSeries(entries) {
  const tested = entries.filter((e) => e.test);
  if (!tested.length) return [];
  const starts = new Set(tested.map((e, i) => i).filter((i) => i > 0 && tested[i].dataVersion !== tested[i - 1].dataVersion));
  return [{
    label: "test data", colour: "#CC79A7", dash: [1.5, 3], steps: tested.map((e) => e.step), starts, width: 2,
    loss: tested.map((e) => e.test.data_loss), accuracy: tested.map((e) => e.test.accuracy),
  }];
}

function tickLabel(value) {
  if (value !== 0 && (Math.abs(value) < 1e-2 || Math.abs(value) >= 1e5)) return value.toExponential(0).replace("-", "−");
  return String(Number(value.toPrecision(4))).replace("-", "−");
}

// A series' indices split where a new segment starts (s.starts: indices; none for a race).
function segments(s) {
  const runs = [];
  s.steps.forEach((_, i) => {
    if (i === 0 || (s.starts && s.starts.has(i))) runs.push([]);
    runs[runs.length - 1].push(i);
  });
  return runs;
}

function nearestIndex(steps, step) {
  if (!steps.length) return null;
  let best = 0;
  for (let i = 1; i < steps.length; i += 1) {
    if (Math.abs(steps[i] - step) < Math.abs(steps[best] - step)) best = i;
  }
  return best;
}
