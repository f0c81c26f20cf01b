// Number formatting for the page (display only).

export function fixed(value, digits = 2) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  const text = value.toFixed(digits);
  // "-0.00" reads as a sign error; show it as 0.00
  return /^-0\.?0*$/.test(text) ? text.slice(1) : text.replace("-", "−");
}

export function compact(value) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude < 1e-3 || magnitude >= 1e5)) {
    return value.toExponential(2).replace(/-/g, "−");
  }
  return fixed(value, magnitude >= 100 ? 1 : magnitude >= 10 ? 2 : 3);
}

export function scientific(value, digits = 1) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  return value.toExponential(digits).replace(/-/g, "−");
}

export function percent(value) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  return `${Math.round(value * 100)}%`;
}

// The step size and L2 strength sliders are logarithmic; show them like the CS231n demo.
export function sliderValue(value) {
  if (value >= 1) return value.toFixed(2);
  return value.toPrecision(2);
}
