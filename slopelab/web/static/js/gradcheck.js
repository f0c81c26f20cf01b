// The gradient-check panel: the server's numerical and analytic gradients side by side, and the
// largest relative error against h for both difference schemes.

import { fitCanvas } from "./canvas.js";
import { fixed, scientific } from "./format.js";
import { SERIES } from "./palette.js";

const VERDICTS = {
  excellent: "excellent: every relative error is at most 1e−7",
  acceptable: "acceptable: errors below 1e−4 with kinks (hinge corners) nearby",
  suspicious: "suspicious: errors above 1e−7 on a smooth loss",
  wrong: "wrong: some relative error is 1e−2 or more",
};
const FLOOR = 1e-17;

export function renderGradcheck(app, body, verdict, sweepCanvas) {
  const result = app.gradcheck.result;
  if (!result) return;
  const showDemo = app.gradcheck.demo;
  body.innerHTML = result.rows.map((row) => {
    const analytic = showDemo ? row.demo_analytic : row.analytic;
    const error = showDemo ? row.demo_rel_error : row.rel_error;
    const noise = showDemo ? row.demo_at_noise_floor : row.at_noise_floor;
    const bad = error !== null && !noise && error > (row.kink ? 1e-4 : 1e-7);
    const status = row.kink ? "kink ⚠" : bad ? "✗ off" : noise && error > 1e-7 ? "✓ ≈ 0 (rounding)" : "✓";
    return `<tr class="${bad ? "bad" : ""}" data-testid="gradcheck-row">
      <th scope="row">${row.name}</th><td>${fixed(analytic, 5)}</td>
      <td>${row.numeric === null ? "–" : fixed(row.numeric, 5)}</td>
      <td data-testid="rel-error" data-noise="${noise}">${error === null ? "–" : scientific(error)}</td>
      <td title="${row.kink ? "a hinge corner lies within a few h: the numerical slope averages the two sides" : ""}">${status}</td></tr>`;
  }).join("");
  const who = showDemo ? "The CS231n demo's gradient" : "slopelab's gradient";
  const judged = result.rows.filter((r) => !(showDemo ? r.demo_at_noise_floor : r.at_noise_floor));
  const worst = Math.max(0, ...judged.map((r) => (showDemo ? r.demo_rel_error : r.rel_error) ?? 0));
  verdict.textContent = showDemo
    ? `${who}: worst relative error ${scientific(worst)} (rows equal to rounding noise aside). Its regularization term 0.5·λ·W is not the derivative of λ·ΣW², so it is wrong whenever λ > 0.`
    : `${who}, ${result.scheme} differences with h = ${scientific(result.h, 0)}: worst relative error ${scientific(worst)} (rows equal to rounding noise aside). slopelab's check_gradient (centered, kink-aware) says ${VERDICTS[result.verdict] || result.verdict}.`;
  if (result.sweep) drawSweep(sweepCanvas, result);
}

function drawSweep(canvas, result) {
  const { ctx, width, height } = fitCanvas(canvas);
  const margin = { left: 46, right: 10, top: 22, bottom: 30 };
  const w = width - margin.left - margin.right;
  const h = height - margin.top - margin.bottom;
  const hs = result.sweep.h.map(Math.log10);
  const series = [["centered", SERIES.data, []], ["forward", SERIES.reg, [5, 3]]];
  const values = series.flatMap(([key]) => result.sweep[key]).filter((v) => v !== null);
  const logs = values.map((v) => Math.log10(Math.max(v, FLOOR)));
  const y0 = Math.floor(Math.min(...logs, -12));
  const y1 = Math.ceil(Math.max(...logs, 0));
  const px = (logH) => margin.left + ((logH - hs[0]) / (hs[hs.length - 1] - hs[0])) * w;
  const py = (logE) => margin.top + (1 - (logE - y0) / (y1 - y0)) * h;
  ctx.clearRect(0, 0, width, height);
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillStyle = "#1d2433";
  ctx.strokeStyle = "#d5d8de";
  ctx.textAlign = "right";
  for (let t = y0; t <= y1; t += 2) {
    ctx.beginPath();
    ctx.moveTo(margin.left, py(t));
    ctx.lineTo(margin.left + w, py(t));
    ctx.stroke();
    ctx.fillText(`1e${t}`.replace("-", "−"), margin.left - 5, py(t) + 4);
  }
  ctx.textAlign = "center";
  for (let t = -12; t <= 0; t += 2) ctx.fillText(`1e${t}`.replace("-", "−"), px(t), margin.top + h + 14);
  ctx.fillText("h", margin.left + w / 2, margin.top + h + 27);
  ctx.textAlign = "start";
  ctx.fillText("largest relative error", margin.left, 13);
  [["centered", SERIES.data, []], ["forward", SERIES.reg, [5, 3]]].forEach(([label, colour, dash], i) => {
    const x = margin.left + w - 150 + i * 78;
    ctx.strokeStyle = colour;
    ctx.lineWidth = 2;
    ctx.setLineDash(dash);
    ctx.beginPath();
    ctx.moveTo(x, 9);
    ctx.lineTo(x + 16, 9);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = "#1d2433";
    ctx.fillText(label, x + 20, 13);
  });
  ctx.strokeStyle = "#1d2433";
  ctx.strokeRect(margin.left + 0.5, margin.top + 0.5, w, h);
  for (const [key, colour, dash] of series) {
    ctx.strokeStyle = colour;
    ctx.lineWidth = 2;
    ctx.setLineDash(dash);
    ctx.beginPath();
    let started = false;
    result.sweep[key].forEach((v, i) => {
      if (v === null) { started = false; return; }
      const x = px(hs[i]);
      const y = py(Math.log10(Math.max(v, FLOOR)));
      if (!started) ctx.moveTo(x, y); else ctx.lineTo(x, y);
      started = true;
    });
    ctx.stroke();
  }
  ctx.setLineDash([]);
  const current = Math.log10(result.h);
  ctx.strokeStyle = "#1d2433";
  ctx.setLineDash([3, 3]);
  ctx.beginPath();
  ctx.moveTo(px(current), margin.top);
  ctx.lineTo(px(current), margin.top + h);
  ctx.stroke();
  ctx.setLineDash([]);
}
