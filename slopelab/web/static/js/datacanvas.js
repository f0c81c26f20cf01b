// The data canvas: decision regions, class lines and weight arrows, hinge margins, points.
// It only draws what the server computed (regions, lines, active terms) and reports edits.

import { arrow, fitCanvas } from "./canvas.js";
import { fixed } from "./format.js";
import { CLASS_COLOURS, CLASS_NAMES, CLASS_TINTS, SHAPES, hexToRgb, mix, tracePath } from "./palette.js";

const HIT_RADIUS = 12; // px: a press this close to a point grabs it
const POINT_RADIUS = 6;
const KEY_STEP = 0.05; // canvas units per arrow key press (Shift: a fifth of it)

export class DataCanvas {
  constructor(canvas, tooltip, handlers) {
    this.canvas = canvas;
    this.tooltip = tooltip;
    this.handlers = handlers;
    this.dragging = null;
    this.keyboardCursor = [0, 0];
    this.showCursor = false;
    this.gridCache = { key: null, image: null };
    this.width = 1;
    this.height = 1;
    canvas.addEventListener("pointerdown", (e) => this.onPointerDown(e));
    canvas.addEventListener("pointermove", (e) => this.onPointerMove(e));
    canvas.addEventListener("pointerup", (e) => this.onPointerUp(e));
    canvas.addEventListener("pointercancel", (e) => this.onPointerUp(e));
    canvas.addEventListener("pointerleave", () => {
      if (this.dragging === null) this.handlers.hover(null);
      this.tooltip.hidden = true;
    });
    canvas.addEventListener("contextmenu", (e) => e.preventDefault());
    canvas.addEventListener("keydown", (e) => this.onKey(e));
    canvas.addEventListener("focus", () => { this.showCursor = true; this.handlers.redraw(); });
    canvas.addEventListener("blur", () => { this.showCursor = false; this.handlers.redraw(); });
  }

  // [-1, 1]^2 with x1 pointing up, filling the whole canvas.
  toPixel([x0, x1]) {
    return [((x0 + 1) / 2) * this.width, ((1 - x1) / 2) * this.height];
  }

  toData(px, py) {
    const clamp = (v) => Math.max(-1, Math.min(1, Math.round(v * 1000) / 1000));
    return [clamp((2 * px) / this.width - 1), clamp(1 - (2 * py) / this.height)];
  }

  eventPosition(event) {
    const rect = this.canvas.getBoundingClientRect();
    return [event.clientX - rect.left, event.clientY - rect.top];
  }

  hit(px, py) {
    const { X } = this.handlers.state().setup.data;
    let best = null;
    let bestDistance = HIT_RADIUS;
    X.forEach((point, i) => {
      const [qx, qy] = this.toPixel(point);
      const distance = Math.hypot(qx - px, qy - py);
      if (distance <= bestDistance) {
        best = i;
        bestDistance = distance;
      }
    });
    return best;
  }

  onPointerDown(event) {
    const [px, py] = this.eventPosition(event);
    const index = this.hit(px, py);
    if (event.button === 2 || event.shiftKey) {
      if (index !== null) this.handlers.remove(index);
      event.preventDefault();
      return;
    }
    if (event.button !== 0) return;
    if (index !== null) {
      this.dragging = index;
      this.canvas.setPointerCapture(event.pointerId);
      this.handlers.select(index);
    } else {
      this.handlers.add(this.toData(px, py));
    }
  }

  onPointerMove(event) {
    const [px, py] = this.eventPosition(event);
    if (this.dragging !== null) {
      this.handlers.move(this.dragging, this.toData(px, py), false);
      return;
    }
    const index = this.hit(px, py);
    this.handlers.hover(index);
    this.placeTooltip(index, px, py);
  }

  onPointerUp(event) {
    if (this.dragging === null) return;
    const [px, py] = this.eventPosition(event);
    this.handlers.move(this.dragging, this.toData(px, py), true);
    this.dragging = null;
  }

  onKey(event) {
    const app = this.handlers.state();
    const selected = app.ui.selected;
    const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };
    const count = app.setup.data.X.length;
    let handled = true;
    if (event.key in moves) {
      const size = event.shiftKey ? KEY_STEP / 5 : KEY_STEP;
      const [dx, dy] = moves[event.key];
      const from = selected !== null ? app.setup.data.X[selected] : this.keyboardCursor;
      const to = [from[0] + dx * size, from[1] + dy * size].map(
        (v) => Math.max(-1, Math.min(1, Math.round(v * 1000) / 1000)));
      if (selected !== null) this.handlers.move(selected, to, true);
      else this.keyboardCursor = to;
    } else if (event.key === "Enter") {
      this.handlers.add([...this.keyboardCursor]);
    } else if (event.key === "n" || event.key === "p") {
      const offset = event.key === "n" ? 1 : count - 1;
      this.handlers.select(selected === null ? 0 : (selected + offset) % count);
    } else if (event.key === "Delete" || event.key === "Backspace") {
      if (selected !== null) this.handlers.remove(selected);
    } else if (event.key === "Escape") {
      this.handlers.select(null);
    } else {
      handled = false;
    }
    if (handled) {
      event.preventDefault();
      event.stopPropagation();
      this.handlers.redraw();
    }
  }

  placeTooltip(index, px, py) {
    if (index === null) {
      this.tooltip.hidden = true;
      return;
    }
    this.tooltip.textContent = describePoint(this.handlers.state(), index);
    this.tooltip.hidden = false;
    const left = Math.min(px + 14, this.width - this.tooltip.offsetWidth - 4);
    const top = py > this.height / 2 ? py - this.tooltip.offsetHeight - 12 : py + 14;
    this.tooltip.style.left = `${Math.max(4, left)}px`;
    this.tooltip.style.top = `${top}px`;
  }

  render(app) {
    const { ctx, width, height } = fitCanvas(this.canvas);
    this.width = width;
    this.height = height;
    const evaluation = app.evaluation;
    ctx.clearRect(0, 0, width, height);
    ctx.fillStyle = "#f7f7f4";
    ctx.fillRect(0, 0, width, height);
    if (evaluation && evaluation.grid) this.drawRegions(ctx, evaluation.grid);
    this.drawAxes(ctx);
    if (!evaluation) return;
    const focus = app.ui.hover ?? app.ui.selected;
    if (focus !== null && focus < app.setup.data.y.length) {
      this.drawMargins(ctx, evaluation, app.setup.data.y[focus]);
    }
    this.drawClassLines(ctx, evaluation);
    this.drawPoints(ctx, app, evaluation);
    if (this.showCursor && app.ui.selected === null) this.drawCursor(ctx);
    this.canvas.dataset.points = String(app.setup.data.X.length);
    this.canvas.dataset.marked = (app.ui.marked || []).join(",");
  }

  drawRegions(ctx, grid) {
    if (this.gridCache.key !== grid.classes) {
      const image = new ImageData(grid.size, grid.size);
      const tints = CLASS_TINTS.map(hexToRgb);
      for (let i = 0; i < grid.classes.length; i += 1) {
        const [r, g, b] = tints[grid.classes.charCodeAt(i) - 48];
        image.data.set([r, g, b, 255], 4 * i);
      }
      const offscreen = document.createElement("canvas");
      offscreen.width = grid.size;
      offscreen.height = grid.size;
      offscreen.getContext("2d").putImageData(image, 0, 0);
      this.gridCache = { key: grid.classes, image: offscreen };
    }
    // smoothed: a boundary blends over one cell (2 px at the default size), not a staircase
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(this.gridCache.image, 0, 0, this.width, this.height);
    const note = document.getElementById("regions-note");
    if (note) note.textContent = `regions: the predicted class at ${grid.size} × ${grid.size} points, blended across boundaries`;
  }

  drawAxes(ctx) {
    const [ox, oy] = this.toPixel([0, 0]);
    ctx.strokeStyle = "rgba(29, 36, 51, 0.45)";
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(0, oy);
    ctx.lineTo(this.width, oy);
    ctx.moveTo(ox, 0);
    ctx.lineTo(ox, this.height);
    ctx.stroke();
    ctx.fillStyle = "rgba(29, 36, 51, 0.7)";
    ctx.font = "11px system-ui, sans-serif";
    for (const t of [-0.5, 0.5]) {
      const [tx] = this.toPixel([t, 0]);
      const [, ty] = this.toPixel([0, t]);
      ctx.fillRect(tx - 0.5, oy - 3, 1, 6);
      ctx.fillRect(ox - 3, ty - 0.5, 6, 1);
      ctx.fillText(String(t), tx - 8, oy + 14);
      ctx.fillText(String(t), ox + 5, ty + 4);
    }
    ctx.fillText("x₀", this.width - 16, oy - 6);
    ctx.fillText("x₁", ox + 6, 12);
  }

  drawClassLines(ctx, evaluation) {
    ctx.lineWidth = 2.25;
    for (const line of evaluation.lines) {
      if (!line.segment) continue;
      const colour = mix(CLASS_COLOURS[line.label], "#000000", 0.2);
      ctx.strokeStyle = colour;
      ctx.fillStyle = colour;
      ctx.setLineDash([]);
      const [a, b] = line.segment.map((p) => this.toPixel(p));
      ctx.beginPath();
      ctx.moveTo(a[0], a[1]);
      ctx.lineTo(b[0], b[1]);
      ctx.stroke();
      if (line.arrow) {
        const [s, e] = line.arrow.map((p) => this.toPixel(p));
        arrow(ctx, s[0], s[1], e[0], e[1], 8);
      }
    }
  }

  drawMargins(ctx, evaluation, label) {
    ctx.lineWidth = 1.75;
    ctx.setLineDash([6, 4]);
    for (const line of evaluation.margin_lines) {
      if (line.label !== label || !line.segment) continue;
      ctx.strokeStyle = mix(CLASS_COLOURS[line.term], "#000000", 0.25);
      const [a, b] = line.segment.map((p) => this.toPixel(p));
      ctx.beginPath();
      ctx.moveTo(a[0], a[1]);
      ctx.lineTo(b[0], b[1]);
      ctx.stroke();
    }
    ctx.setLineDash([]);
  }

  drawPoints(ctx, app, evaluation) {
    const { X, y } = app.setup.data;
    const points = evaluation.points;
    const inBatch = new Set(evaluation.batch ? evaluation.batch.indices : []);
    const focus = new Set([app.ui.hover, app.ui.selected, ...(app.ui.marked || [])].filter((i) => i !== null));
    X.forEach((point, i) => {
      if (i >= points.losses.length) return;
      const [px, py] = this.toPixel(point);
      if (inBatch.has(i)) {
        ctx.strokeStyle = "#1d2433";
        ctx.lineWidth = 1.5;
        ctx.setLineDash([3, 2.5]);
        ctx.beginPath();
        ctx.arc(px, py, POINT_RADIUS + 8, 0, 2 * Math.PI);
        ctx.stroke();
        ctx.setLineDash([]);
      }
      if (focus.has(i)) {
        ctx.fillStyle = "rgba(255, 255, 255, 0.85)";
        ctx.beginPath();
        ctx.arc(px, py, POINT_RADIUS + 6, 0, 2 * Math.PI);
        ctx.fill();
        ctx.strokeStyle = "#1d2433";
        ctx.lineWidth = 2;
        ctx.stroke();
      }
      const active = points.active[i];
      active.forEach((isActive, term) => {
        if (!isActive) return;
        const angle = -Math.PI / 2 + (term * 2 * Math.PI) / active.length;
        const qx = px + (POINT_RADIUS + 4.5) * Math.cos(angle);
        const qy = py + (POINT_RADIUS + 4.5) * Math.sin(angle);
        ctx.fillStyle = CLASS_COLOURS[term];
        ctx.strokeStyle = "#1d2433";
        ctx.lineWidth = 1;
        ctx.beginPath();
        ctx.arc(qx, qy, 2.6, 0, 2 * Math.PI);
        ctx.fill();
        ctx.stroke();
      });
      tracePath(ctx, SHAPES[y[i]], px, py, POINT_RADIUS);
      const heldOut = Boolean(app.setup.data.test && app.setup.data.test[i]); // hollow: never trained on
      ctx.fillStyle = heldOut ? "#ffffff" : CLASS_COLOURS[y[i]];
      ctx.fill();
      ctx.strokeStyle = heldOut ? CLASS_COLOURS[y[i]] : "#1d2433";
      ctx.lineWidth = heldOut ? 2.5 : points.losses[i] > 0 && active.some(Boolean) ? 2 : 1.25;
      ctx.stroke();
    });
  }

  drawCursor(ctx) {
    const [px, py] = this.toPixel(this.keyboardCursor);
    ctx.strokeStyle = "#1d2433";
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.moveTo(px - 9, py);
    ctx.lineTo(px + 9, py);
    ctx.moveTo(px, py - 9);
    ctx.lineTo(px, py + 9);
    ctx.stroke();
  }
}

export function describePoint(app, index) {
  const { X, y } = app.setup.data;
  const points = app.evaluation && app.evaluation.points;
  if (!points || index >= points.losses.length || index >= X.length) return "";
  const label = y[index];
  const scores = points.scores[index].map((s) => fixed(s)).join(", ");
  const active = points.active[index]
    .map((isActive, term) => (isActive ? `class ${term}` : null))
    .filter(Boolean);
  // the evaluation shown, not app.setup.loss: after a loss switch it may still be the old one's
  const hinge = points.probabilities
    ? `p(correct) = ${fixed(points.probabilities[index][label])}`
    : (active.length ? `active hinge terms: ${active.join(", ")}` : "no active hinge term");
  return `#${index} at (${fixed(X[index][0])}, ${fixed(X[index][1])}), class ${label} ` +
    `(${CLASS_NAMES[label]}) · L_i = ${fixed(points.losses[index])} · scores ${scores} · ${hinge}`;
}
