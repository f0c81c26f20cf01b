// Colours and marker shapes. Classes use the Okabe–Ito palette, which stays distinguishable
// with the common colour-vision deficiencies, and every class also has its own shape.

export const CLASS_COLOURS = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9"];
export const CLASS_NAMES = ["blue circle", "orange square", "green triangle", "red diamond",
  "pink inverted triangle", "sky-blue pentagon"];
export const SHAPES = ["circle", "square", "triangle", "diamond", "triangle-down", "pentagon"];

// Background tints: each class colour mixed with white.
export const CLASS_TINTS = CLASS_COLOURS.map((hex) => mix(hex, "#ffffff", 0.72));

// Series colours for charts and race runners (Okabe–Ito plus black).
export const SERIES = {
  total: "#1d2433",
  data: "#0072B2",
  reg: "#D55E00",
  accuracy: "#009E73",
};
export const RUNNER_COLOURS = ["#1d2433", "#E69F00", "#0072B2", "#009E73", "#D55E00",
  "#CC79A7", "#56B4E9"];
export const RUNNER_DASHES = [[], [6, 3], [2, 3], [8, 3, 2, 3], [], [4, 4], [1, 2]];

export function hexToRgb(hex) {
  const value = parseInt(hex.slice(1), 16);
  return [(value >> 16) & 255, (value >> 8) & 255, value & 255];
}

export function mix(hexA, hexB, amountOfB) {
  const a = hexToRgb(hexA);
  const b = hexToRgb(hexB);
  const channels = a.map((v, i) => Math.round(v * (1 - amountOfB) + b[i] * amountOfB));
  return `#${channels.map((v) => v.toString(16).padStart(2, "0")).join("")}`;
}

// Trace a class marker centred on (x, y) with "radius" r into the current path.
export function tracePath(ctx, shape, x, y, r) {
  ctx.beginPath();
  if (shape === "circle") {
    ctx.arc(x, y, r, 0, 2 * Math.PI);
    return;
  }
  const corners = {
    square: [[-0.85, -0.85], [0.85, -0.85], [0.85, 0.85], [-0.85, 0.85]],
    triangle: [[0, -1.15], [1.05, 0.75], [-1.05, 0.75]],
    "triangle-down": [[0, 1.15], [1.05, -0.75], [-1.05, -0.75]],
    diamond: [[0, -1.2], [1.2, 0], [0, 1.2], [-1.2, 0]],
    pentagon: [0, 1, 2, 3, 4].map((k) => {
      const angle = -Math.PI / 2 + (2 * Math.PI * k) / 5;
      return [1.1 * Math.cos(angle), 1.1 * Math.sin(angle)];
    }),
  }[shape];
  corners.forEach(([cx, cy], i) => {
    if (i === 0) ctx.moveTo(x + cx * r, y + cy * r);
    else ctx.lineTo(x + cx * r, y + cy * r);
  });
  ctx.closePath();
}

// A small inline SVG of class k's marker, for buttons, tables and legends.
export function glyph(k, size = 14) {
  const c = size / 2;
  const r = size * 0.36;
  const shape = SHAPES[k];
  let body;
  if (shape === "circle") {
    body = `<circle cx="${c}" cy="${c}" r="${r}"/>`;
  } else {
    const points = {
      square: [[-0.85, -0.85], [0.85, -0.85], [0.85, 0.85], [-0.85, 0.85]],
      triangle: [[0, -1.15], [1.05, 0.75], [-1.05, 0.75]],
      "triangle-down": [[0, 1.15], [1.05, -0.75], [-1.05, -0.75]],
      diamond: [[0, -1.2], [1.2, 0], [0, 1.2], [-1.2, 0]],
      pentagon: [0, 1, 2, 3, 4].map((i) => {
        const angle = -Math.PI / 2 + (2 * Math.PI * i) / 5;
        return [1.1 * Math.cos(angle), 1.1 * Math.sin(angle)];
      }),
    }[shape].map(([x, y]) => `${(c + x * r).toFixed(2)},${(c + y * r).toFixed(2)}`).join(" ");
    body = `<polygon points="${points}"/>`;
  }
  return `<svg class="glyph" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}" ` +
    `aria-hidden="true" fill="${CLASS_COLOURS[k]}" stroke="#1d2433" stroke-width="1">${body}</svg>`;
}

// Viridis (perceptually uniform, colour-blind friendly), 9 stops interpolated linearly.
const VIRIDIS = ["#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962",
  "#addc30", "#fde725"].map(hexToRgb);

export function viridis(t) {
  const clamped = Math.min(1, Math.max(0, t));
  const position = clamped * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(position));
  const f = position - i;
  return VIRIDIS[i].map((v, c) => Math.round(v + (VIRIDIS[i + 1][c] - v) * f));
}
