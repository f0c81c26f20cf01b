// The loss landscape: a heat map of the loss the server evaluated on a 2-D slice, the projected
// paths, and the descent directions. Clicking or dragging asks the server for the parameters
// at that point of the slice.

import { arrow, fitCanvas, niceTicks } from "./canvas.js";
import { compact, fixed } from "./format.js";
import { RUNNER_COLOURS, RUNNER_DASHES, viridis } from "./palette.js";

const MARGIN = { left: 46, right: 10, top: 10, bottom: 36 };
const TICK_FONT = "11px system-ui, sans-serif";
const TITLE_FONT = "12px system-ui, sans-serif";
const TITLE_X = 12; // baseline of the rotated vertical-axis title
const TITLE_BAND = 20; // the title's column: labels start right of it
const TICK_GAP = 6; // between a vertical-axis label and the plot
const LABEL_GAP = 10; // at least this between neighbouring horizontal-axis labels
const BANDS = 16; // contour lines at these levels of the colour scale
const MAX_HEAT_PIXELS = 1200; // per side of the interpolated heat map
const CONTOUR_SHADE = 0.8; // a contour pixel's brightness
const LEVELS = 2048; // colours of the scale, finer than a pixel of the heat map

export class LandscapeView {
  constructor(canvas, readout, handlers) {
    this.canvas = canvas;
    this.readout = readout;
    this.handlers = handlers;
    this.plot = { left: 0, top: 0, width: 1, height: 1 };
    this.imageCache = { key: null, image: null };
    this.dragging = false;
    canvas.addEventListener("pointerdown", (e) => {
      if (e.button !== 0 || !this.inside(e)) return;
      this.dragging = true;
      canvas.setPointerCapture(e.pointerId);
      this.handlers.moveTo(...this.valueAt(e), false);
    });
    canvas.addEventListener("pointermove", (e) => {
      if (this.dragging) this.handlers.moveTo(...this.valueAt(e), false);
      else this.hover(e);
    });
    const finish = (e) => {
      if (!this.dragging) return;
      this.dragging = false;
      this.handlers.moveTo(...this.valueAt(e), true);
    };
    canvas.addEventListener("pointerup", finish);
    canvas.addEventListener("pointercancel", finish);
    canvas.addEventListener("pointerleave", () => {
      this.hovering = false;
      this.showReadout(null);
    });
    canvas.addEventListener("keydown", (e) => this.onKey(e));
  }

  result() {
    return this.handlers.state().landscape.result;
  }

  inside(event) {
    const [px, py] = this.position(event);
    const p = this.plot;
    return px >= p.left && px <= p.left + p.width && py >= p.top && py <= p.top + p.height;
  }

  position(event) {
    const rect = this.canvas.getBoundingClientRect();
    return [event.clientX - rect.left, event.clientY - rect.top];
  }

  ranges() {
    const result = this.result();
    const first = result.first.values;
    const second = result.second.values;
    return [first[0], first[first.length - 1], second[0], second[second.length - 1]];
  }

  toPixel([a, b]) {
    const [a0, a1, b0, b1] = this.ranges();
    const p = this.plot;
    return [p.left + ((a - a0) / (a1 - a0)) * p.width, p.top + (1 - (b - b0) / (b1 - b0)) * p.height];
  }

  valueAt(event) {
    const [px, py] = this.position(event);
    const [a0, a1, b0, b1] = this.ranges();
    const p = this.plot;
    const u = Math.max(0, Math.min(1, (px - p.left) / p.width));
    const v = Math.max(0, Math.min(1, 1 - (py - p.top) / p.height));
    return [a0 + u * (a1 - a0), b0 + v * (b1 - b0)];
  }

  hover(event) {
    const result = this.result();
    this.hovering = Boolean(result) && this.inside(event);
    this.showReadout(this.hovering ? this.valueAt(event) : null);
  }

  // Hovering shows the nearest grid cell's loss as "≈" at once, then the server's exact loss
  // at the point itself (data-exact="true"); a later hover or leaving discards a late answer.
  showReadout(value) {
    const result = this.result();
    this.readoutToken = (this.readoutToken || 0) + 1;
    delete this.readout.dataset.exact;
    if (!result) return;
    const app = this.handlers.state();
    const quantity = app.setup.landscape.quantity === "data" ? "data loss" : "total loss";
    if (value === null) {
      const size = result.values.length;
      this.readout.textContent = `${quantity} from ${compact(result.minimum)} (dark) to ` +
        `${compact(result.maximum)} (light), shaded between the ${size} × ${size} computed ` +
        "values (bilinear) · click or drag to move W, b";
      return;
    }
    const column = this.nearest(result.first.values, value[0]);
    const row = this.nearest(result.second.values, value[1]);
    const where = `${result.first.label} = ${fixed(value[0])}, ` +
      `${result.second.label} = ${fixed(value[1])}: ${quantity}`;
    this.readout.textContent = `${where} ≈ ${compact(result.values[row][column])} (nearest grid point)`;
    this.readout.dataset.exact = "false";
    const token = this.readoutToken;
    this.handlers.exactValue(value[0], value[1]).then((answer) => {
      if (!answer || token !== this.readoutToken) return;
      this.readout.textContent = `${where} ${compact(answer.value)}`;
      Object.assign(this.readout.dataset, {
        exact: "true", first: answer.first, second: answer.second, value: answer.value,
      });
    });
  }

  nearest(values, target) {
    const step = (values[values.length - 1] - values[0]) / (values.length - 1);
    return Math.max(0, Math.min(values.length - 1, Math.round((target - values[0]) / step)));
  }

  onKey(event) {
    const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };
    const result = this.result();
    if (!(event.key in moves) || !result) return;
    event.preventDefault();
    event.stopPropagation();
    const [a0, a1, b0, b1] = this.ranges();
    const cells = result.first.values.length - 1;
    const [dx, dy] = moves[event.key];
    const current = this.currentPoint(this.handlers.state()) || [result.first.centre, result.second.centre];
    this.handlers.moveTo(current[0] + (dx * (a1 - a0)) / cells, current[1] + (dy * (b1 - b0)) / cells, true);
  }

  currentPoint(app) {
    const result = app.landscape.result;
    if (!result || !result.paths.length || !result.paths[0].length) return null;
    const path = result.paths[0];
    return path[path.length - 1];
  }

  // Vertical-axis ticks and their labels, as drawn.
  verticalTicks() {
    const [, , b0, b1] = this.ranges();
    return niceTicks(b0, b1, 4).map((t) => [t, fixed(t, Math.abs(b1 - b0) < 2 ? 2 : 1)]);
  }

  // Horizontal-axis ticks and their labels: every second one dropped until the widest label
  // fits between neighbours (long labels like −123456.0 on a narrow plot would overlap).
  horizontalTicks(ctx) {
    const [a0, a1] = this.ranges();
    let ticks = niceTicks(a0, a1, 4).map((t) => [t, fixed(t, Math.abs(a1 - a0) < 2 ? 2 : 1)]);
    ctx.font = TICK_FONT;
    const widest = Math.max(0, ...ticks.map(([, label]) => ctx.measureText(label).width));
    const spacing = (list) => this.toPixel([list[1][0], 0])[0] - this.toPixel([list[0][0], 0])[0];
    while (ticks.length > 2 && spacing(ticks) < widest + LABEL_GAP) {
      ticks = ticks.filter((_, i) => i % 2 === 0);
    }
    return ticks;
  }

  // Room for the widest vertical-axis label, minus sign included, right of the axis title.
  leftMargin(ctx) {
    ctx.font = TICK_FONT;
    const widest = Math.max(0, ...this.verticalTicks().map(([, label]) => ctx.measureText(label).width));
    return Math.max(MARGIN.left, Math.ceil(TITLE_BAND + widest + TICK_GAP));
  }

  render(app) {
    const { ctx, width, height } = fitCanvas(this.canvas);
    const left = app.landscape.result ? this.leftMargin(ctx) : MARGIN.left;
    this.plot = {
      left,
      top: MARGIN.top,
      width: Math.max(10, width - left - MARGIN.right),
      height: Math.max(10, height - MARGIN.top - MARGIN.bottom),
    };
    const p = this.plot;
    this.canvas.dataset.plot = [p.left, p.top, p.width, p.height].map(Math.round).join(",");
    ctx.clearRect(0, 0, width, height);
    const result = app.landscape.result;
    if (!result) {
      ctx.fillStyle = "#5b6475";
      ctx.font = "13px system-ui, sans-serif";
      ctx.fillText("computing the landscape…", p.left + 10, p.top + 20);
      return;
    }
    this.drawHeatMap(ctx, result, app.setup.landscape.log);
    this.drawAxes(ctx, result);
    this.drawPaths(ctx, app, result);
    this.drawDescent(ctx, app, result);
    if (!this.hovering) this.showReadout(null);
  }

  // The server's values are bilinearly interpolated to every device pixel of the plot, then
  // coloured (honest for a continuous loss, and no staircase of cells); thin darker lines mark
  // the BANDS levels of the colour scale, contours of the interpolated surface.
  drawHeatMap(ctx, result, logScale) {
    const p = this.plot;
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.min(MAX_HEAT_PIXELS, Math.round(p.width * ratio)));
    const height = Math.max(1, Math.min(MAX_HEAT_PIXELS, Math.round(p.height * ratio)));
    const key = `${logScale}:${width}x${height}`;
    if (this.imageCache.key !== key || this.imageCache.values !== result.values) {
      this.imageCache = { key, values: result.values, image: heatImage(result, logScale, width, height) };
    }
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(this.imageCache.image, p.left, p.top, p.width, p.height);
    Object.assign(this.canvas.dataset, { gridSize: result.values.length, log: String(logScale) });
  }

  drawAxes(ctx, result) {
    const p = this.plot;
    const [a0, a1, b0, b1] = this.ranges();
    ctx.strokeStyle = "#1d2433";
    ctx.lineWidth = 1;
    ctx.strokeRect(p.left + 0.5, p.top + 0.5, p.width, p.height);
    ctx.fillStyle = "#1d2433";
    ctx.font = "11px system-ui, sans-serif";
    ctx.textAlign = "center";
    for (const [t, label] of this.horizontalTicks(ctx)) {
      const [x] = this.toPixel([t, b0]);
      ctx.fillRect(x, p.top + p.height, 1, 4);
      ctx.fillText(label, x, p.top + p.height + 15);
    }
    ctx.font = "12px system-ui, sans-serif";
    ctx.fillText(result.first.label, p.left + p.width / 2, p.top + p.height + 31);
    ctx.textAlign = "right";
    ctx.font = TICK_FONT;
    for (const [t, label] of this.verticalTicks()) {
      const [, y] = this.toPixel([a0, t]);
      ctx.fillRect(p.left - 4, y, 4, 1);
      ctx.fillText(label, p.left - TICK_GAP, y + 4);
    }
    ctx.save();
    ctx.translate(TITLE_X, p.top + p.height / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = "center";
    ctx.font = TITLE_FONT;
    ctx.fillText(result.second.label, 0, 0);
    ctx.restore();
    ctx.textAlign = "start";
  }

  drawPaths(ctx, app, result) {
    const p = this.plot;
    ctx.save();
    ctx.beginPath();
    ctx.rect(p.left, p.top, p.width, p.height);
    ctx.clip();
    result.paths.forEach((path, index) => {
      if (!path.length) return;
      const isRace = index > 0;
      const pixels = path.map((point) => this.toPixel(point));
      const colour = isRace ? RUNNER_COLOURS[app.landscape.pathRunners[index - 1] % RUNNER_COLOURS.length] : "#ffffff";
      const dash = isRace ? RUNNER_DASHES[app.landscape.pathRunners[index - 1] % RUNNER_DASHES.length] : [];
      ctx.lineJoin = "round";
      ctx.lineCap = "round";
      for (const [stroke, widthPx, lineDash] of [["rgba(0,0,0,0.65)", 4.5, []], [colour, 2.25, dash]]) {
        ctx.strokeStyle = stroke;
        ctx.lineWidth = widthPx;
        ctx.setLineDash(lineDash);
        ctx.beginPath();
        pixels.forEach(([x, y], i) => (i === 0 ? ctx.moveTo(x, y) : ctx.lineTo(x, y)));
        ctx.stroke();
      }
      ctx.setLineDash([]);
      if (!isRace && pixels.length <= 60) {
        ctx.fillStyle = "#ffffff";
        for (const [x, y] of pixels) {
          ctx.beginPath();
          ctx.arc(x, y, 2, 0, 2 * Math.PI);
          ctx.fill();
        }
      }
      const [x, y] = pixels[pixels.length - 1];
      ctx.fillStyle = colour;
      ctx.strokeStyle = "#000000";
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      ctx.arc(x, y, isRace ? 4 : 6, 0, 2 * Math.PI);
      ctx.fill();
      ctx.stroke();
    });
    ctx.restore();
  }

  drawDescent(ctx, app, result) {
    const here = this.currentPoint(app);
    if (!here) return;
    const [x0, y0] = this.toPixel(here);
    const [a0, a1, b0, b1] = this.ranges();
    const toPixels = ([da, db]) => [(da / (a1 - a0)) * this.plot.width, (-db / (b1 - b0)) * this.plot.height];
    const vectors = [[toPixels(result.descent), "#ffffff", []]];
    if (result.batch_descent) vectors.push([toPixels(result.batch_descent), "#E69F00", [5, 3]]);
    const longest = Math.max(...vectors.map(([[dx, dy]]) => Math.hypot(dx, dy)), 1e-12);
    const target = 0.22 * Math.min(this.plot.width, this.plot.height);
    for (const [[dx, dy], colour, dash] of vectors) {
      const k = target / longest;
      for (const [stroke, widthPx] of [["rgba(0,0,0,0.7)", 4], [colour, 2]]) {
        ctx.strokeStyle = stroke;
        ctx.fillStyle = stroke;
        ctx.lineWidth = widthPx;
        ctx.setLineDash(widthPx === 2 ? dash : []);
        arrow(ctx, x0, y0, x0 + dx * k, y0 + dy * k, widthPx === 2 ? 7 : 9);
      }
    }
    ctx.setLineDash([]);
  }
}

// The heat map as an offscreen canvas of width x height pixels; row 0 of result.values is the
// bottom of the slice, and values[row][column] sits at the plot's grid lines (edges included).
function heatImage(result, logScale, width, height) {
  const values = result.values;
  const size = values.length;
  const low = result.minimum;
  const high = result.maximum;
  const floor = Math.max((high - low) * 1e-3, 1e-12);
  const scale = (v) => (logScale ? Math.log(v - low + floor) : v);
  const s0 = scale(low);
  const s1 = scale(high);
  const colours = Array.from({ length: LEVELS }, (_, i) => viridis(i / (LEVELS - 1)));
  const image = new ImageData(width, height);
  let above = new Int32Array(width).fill(-1);
  let here = new Int32Array(width);
  for (let y = 0; y < height; y += 1) {
    const v = (1 - (y + 0.5) / height) * (size - 1);
    const row = Math.min(size - 2, Math.floor(v));
    const fv = v - row;
    for (let x = 0; x < width; x += 1) {
      const u = ((x + 0.5) / width) * (size - 1);
      const column = Math.min(size - 2, Math.floor(u));
      const fu = u - column;
      const value = (1 - fv) * ((1 - fu) * values[row][column] + fu * values[row][column + 1])
        + fv * ((1 - fu) * values[row + 1][column] + fu * values[row + 1][column + 1]);
      const t = s1 > s0 ? Math.min(1, Math.max(0, (scale(value) - s0) / (s1 - s0))) : 0;
      const band = Math.min(BANDS - 1, Math.floor(t * BANDS));
      here[x] = band;
      const contour = (x > 0 && here[x - 1] !== band) || (above[x] >= 0 && above[x] !== band);
      const colour = colours[Math.round(t * (LEVELS - 1))];
      const shade = contour ? CONTOUR_SHADE : 1;
      const at = 4 * (y * width + x);
      image.data[at] = colour[0] * shade;
      image.data[at + 1] = colour[1] * shade;
      image.data[at + 2] = colour[2] * shade;
      image.data[at + 3] = 255;
    }
    [above, here] = [here, above];
  }
  const offscreen = document.createElement("canvas");
  offscreen.width = width;
  offscreen.height = height;
  offscreen.getContext("2d").putImageData(image, 0, 0);
  return offscreen;
}
