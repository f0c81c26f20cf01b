// The status line under the header: divergence warnings, server errors, short notices.
// Every message can be dismissed; an error also goes once a request made after it succeeds.

const element = () => document.getElementById("status");
const text = () => document.getElementById("status-text");
let source = null;
let timer = null;
let shown = 0; // messages shown so far: a request knows which errors came before it started
let shownAt = 0;

export function setStatus(kind, message, from = kind) {
  const status = element();
  status.hidden = false;
  status.className = `status ${kind}`;
  text().textContent = message;
  text().setAttribute("role", kind === "error" ? "alert" : "status");
  source = from;
  shown += 1;
  shownAt = shown;
  clearTimeout(timer);
  if (kind === "info") timer = setTimeout(() => clearStatus("info"), 5000);
}

// Clears the line if it shows a message from `from` (or any message without an argument).
export function clearStatus(from) {
  if (from !== undefined && source !== from) return;
  element().hidden = true;
  source = null;
}

// A mark to take when a request starts; see clearErrorShownBefore.
export const statusMark = () => shown;

// A request that started at `mark` succeeded: an error shown before it started is over.
// (An error that arrived while the request was in flight stays: it may be newer news.)
export function clearErrorShownBefore(mark) {
  if (source === "error" && shownAt <= mark) clearStatus("error");
}

export function wireStatusClose() {
  document.getElementById("status-close").addEventListener("click", () => clearStatus());
}
