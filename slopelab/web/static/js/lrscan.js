// "Learning rate first": the total loss after k updates against the learning rate (log scale),
// from the server's /api/lr_scan for the current setup, W, b and optimizer state. The rate in
// use is marked; a click uses the nearest scanned rate. Diverged rates are drawn as such.

import { Lane, api } from "./api.js";
import { fitCanvas, niceTicks } from "./canvas.js";
import { compact, sliderValue } from "./format.js";
import { app, current, problem } from "./state.js";

const NUM_RATES = 21; // 5 per decade over the slider's 5e-4 .. 5
const MARGIN = { left: 46, right: 10, top: 22, bottom: 30 };
const COLOURS = { ok: "#2f6fde", diverging: "#d97706", diverged: "#c0362c", current: "#1d2433" };
const lane = new Lane();
let lastKey = null;
let timer = null;

// The request for the current iterate; its JSON is the cache key (the page asks once per state).
function scanBody() {
  const entry = current();
  const rule = app.setup.optimizer.name;
  const [low, high] = app.defaults.ranges.learning_rate;
  return {
    ...problem(entry.params), optimizer: app.setup.optimizer,
    opt_state: entry.rule === rule ? entry.opt_state : null, batch: app.setup.batch,
    step: entry.step, num_steps: app.lrScan.steps, min_rate: low, max_rate: high, num_rates: NUM_RATES,
  };
}

// Scan again if the setup changed; never while a run goes (it would scan every frame).
export function requestLrScan(onDone, onError) {
  if (app.ui.tab !== "lr" || app.ui.running || !app.setup) return;
  const body = scanBody();
  const key = JSON.stringify(body);
  if (key === lastKey) return;
  lastKey = key;
  clearTimeout(timer);
  timer = setTimeout(() => {
    lane.run(async () => {
      const result = await api.lrScan(body);
      if (key === lastKey) app.lrScan.result = result;
      onDone();
    }, "lr-scan").catch((error) => {
      lastKey = null;
      onError(error);
    });
  }, 120);
}

export class LrScanView {
  constructor(canvas, readout, onPick) {
    this.canvas = canvas;
    this.readout = readout;
    this.frame = null;
    this.chosen = null; // the index of the scanned rate picked with the arrow keys
    canvas.addEventListener("keydown", (event) => this.onKey(event, onPick));
    canvas.addEventListener("blur", () => {
      this.chosen = null;
      this.render();
    });
    canvas.addEventListener("click", (event) => {
      const point = this.nearest(event);
      if (point) onPick(Number(point.learning_rate.toPrecision(2))); // the slider's precision
    });
  }

  // The keyboard's way to pick: ←/→ walk the scanned rates (from the one nearest the rate in
  // use), Enter uses the chosen one; the readout names it. Arrows stay here (not a step).
  onKey(event, onPick) {
    const result = app.lrScan.result;
    if (!result || !["ArrowLeft", "ArrowRight", "Enter"].includes(event.key)) return;
    event.preventDefault();
    event.stopPropagation();
    const points = result.points;
    if (event.key === "Enter") {
      if (this.chosen !== null) onPick(Number(points[this.chosen].learning_rate.toPrecision(2)));
      return;
    }
    if (this.chosen === null) {
      const now = Math.log10(result.current.learning_rate);
      this.chosen = points.reduce((best, p, i) =>
        (Math.abs(Math.log10(p.learning_rate) - now) < Math.abs(Math.log10(points[best].learning_rate) - now) ? i : best), 0);
    } else {
      this.chosen = Math.max(0, Math.min(points.length - 1, this.chosen + (event.key === "ArrowRight" ? 1 : -1)));
    }
    this.render();
  }

  // The scanned point nearest the click in log-rate.
  nearest(event) {
    const result = app.lrScan.result;
    if (!result || !this.frame) return null;
    const { left, width, x0, x1 } = this.frame;
    const rect = this.canvas.getBoundingClientRect();
    const at = x0 + ((event.clientX - rect.left - left) / width) * (x1 - x0);
    let best = null;
    for (const point of result.points) {
      const distance = Math.abs(Math.log10(point.learning_rate) - at);
      if (!best || distance < best.distance) best = { point, distance };
    }
    return best.point;
  }

  render() {
    const result = app.lrScan.result;
    const { ctx, width, height } = fitCanvas(this.canvas);
    ctx.clearRect(0, 0, width, height);
    if (!result) return;
    const frame = {
      left: MARGIN.left, top: MARGIN.top,
      width: Math.max(10, width - MARGIN.left - MARGIN.right),
      height: Math.max(10, height - MARGIN.top - MARGIN.bottom),
      x0: Math.log10(result.points[0].learning_rate),
      x1: Math.log10(result.points[result.points.length - 1].learning_rate),
    };
    this.frame = frame;
    const finite = [...result.points, result.current].filter((p) => p.total !== null).map((p) => p.total);
    const y1 = Math.max(result.start_total, ...finite) * 1.08 || 1;
    const px = (rate) => frame.left + ((Math.log10(rate) - frame.x0) / (frame.x1 - frame.x0)) * frame.width;
    const py = (v) => frame.top + (1 - v / y1) * frame.height;
    this.drawAxes(ctx, frame, y1, py);
    ctx.setLineDash([4, 3]); // the loss before the k updates
    ctx.strokeStyle = "#8a93a6";
    ctx.beginPath();
    ctx.moveTo(frame.left, py(result.start_total));
    ctx.lineTo(frame.left + frame.width, py(result.start_total));
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.strokeStyle = COLOURS.ok;
    ctx.lineWidth = 2;
    ctx.beginPath();
    let drawing = false;
    for (const point of result.points) {
      if (point.total === null) {
        drawing = false;
        continue;
      }
      if (drawing) ctx.lineTo(px(point.learning_rate), py(point.total));
      else ctx.moveTo(px(point.learning_rate), py(point.total));
      drawing = true;
    }
    ctx.stroke();
    for (const point of result.points) this.drawPoint(ctx, point, px, py, frame);
    this.drawCurrent(ctx, result.current, px, py, frame);
    if (this.chosen !== null && this.chosen < result.points.length) this.drawChosen(ctx, result.points[this.chosen], px, py, frame);
    this.describe(result);
  }

  drawAxes(ctx, frame, y1, py) {
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillStyle = "#1d2433";
    ctx.strokeStyle = "#d5d8de";
    ctx.lineWidth = 1;
    ctx.textAlign = "right";
    for (const t of niceTicks(0, y1, 4)) {
      ctx.beginPath();
      ctx.moveTo(frame.left, py(t));
      ctx.lineTo(frame.left + frame.width, py(t));
      ctx.stroke();
      ctx.fillText(String(Number(t.toPrecision(3))), frame.left - 5, py(t) + 4);
    }
    ctx.textAlign = "center";
    for (let e = Math.ceil(frame.x0); e <= frame.x1; e += 1) {
      const x = frame.left + ((e - frame.x0) / (frame.x1 - frame.x0)) * frame.width;
      ctx.fillText(`1e${e}`.replace("-", "−"), x, frame.top + frame.height + 15);
    }
    ctx.fillText("learning rate η (log scale)", frame.left + frame.width / 2, frame.top + frame.height + 28);
    ctx.textAlign = "start";
    ctx.fillText(`total loss after ${app.lrScan.steps} steps`, frame.left, frame.top - 8);
    ctx.strokeStyle = "#1d2433";
    ctx.strokeRect(frame.left + 0.5, frame.top + 0.5, frame.width, frame.height);
  }

  // A diverged rate has no loss: a red cross on the top edge, never a clipped value.
  drawPoint(ctx, point, px, py, frame) {
    const x = px(point.learning_rate);
    ctx.lineWidth = 1.5;
    if (point.status === "diverged") {
      const y = frame.top + 7;
      ctx.strokeStyle = COLOURS.diverged;
      ctx.beginPath();
      ctx.moveTo(x - 4, y - 4);
      ctx.lineTo(x + 4, y + 4);
      ctx.moveTo(x + 4, y - 4);
      ctx.lineTo(x - 4, y + 4);
      ctx.stroke();
      return;
    }
    ctx.fillStyle = COLOURS[point.status];
    ctx.beginPath();
    ctx.arc(x, py(point.total), 3, 0, 2 * Math.PI);
    ctx.fill();
  }

  drawChosen(ctx, point, px, py, frame) {
    const x = px(point.learning_rate);
    const y = point.total === null ? frame.top + 7 : py(point.total);
    ctx.strokeStyle = "#1d2433";
    ctx.lineWidth = 2;
    ctx.strokeRect(x - 7, y - 7, 14, 14);
  }

  drawCurrent(ctx, point, px, py, frame) {
    const x = px(point.learning_rate);
    ctx.strokeStyle = COLOURS.current;
    ctx.lineWidth = 1;
    ctx.setLineDash([2, 2]);
    ctx.beginPath();
    ctx.moveTo(x, frame.top);
    ctx.lineTo(x, frame.top + frame.height);
    ctx.stroke();
    ctx.setLineDash([]);
    if (point.total !== null) {
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.arc(x, py(point.total), 5, 0, 2 * Math.PI);
      ctx.stroke();
    }
  }

  // The numbers behind the plot, in words (and as attributes for tests).
  describe(result) {
    const done = result.points.filter((p) => p.total !== null);
    const best = done.reduce((a, b) => (b.total < a.total ? b : a), done[0]);
    const diverged = result.points.filter((p) => p.status === "diverged");
    const current = result.current;
    const now = current.total === null
      ? `diverges at the rate in use, η = ${sliderValue(current.learning_rate)}`
      : `${compact(current.total)} at the rate in use, η = ${sliderValue(current.learning_rate)}`;
    const parts = [`Loss after ${result.num_steps} steps: ${now}`];
    if (best) parts.push(`lowest ${compact(best.total)} at η = ${sliderValue(best.learning_rate)}`);
    if (diverged.length) {
      parts.push(`diverged (×) from η = ${sliderValue(diverged[0].learning_rate)}: ${diverged.length} of ${result.points.length} rates`);
    }
    let text = `${parts.join(" · ")}. Click the plot to use a rate.`;
    const chosen = this.chosen !== null ? result.points[this.chosen] : null;
    if (chosen) {
      const loss = chosen.total === null ? "diverges" : `loss ${compact(chosen.total)}`;
      text += ` Chosen: η = ${sliderValue(chosen.learning_rate)}, ${loss}; Enter uses it.`;
    }
    this.readout.textContent = text;
    this.canvas.dataset.chosen = chosen ? String(chosen.learning_rate) : "";
    Object.assign(this.canvas.dataset, {
      plot: [this.frame.left, this.frame.top, this.frame.width, this.frame.height].map(Math.round).join(","),
      rates: String(result.points.length), diverged: String(diverged.length),
      current: String(current.learning_rate), steps: String(result.num_steps),
    });
  }
}
