// The status line under the header: divergence warnings, server errors, short notices.

const element = () => document.getElementById("status");
let source = null;
let timer = null;

export function setStatus(kind, message, from = kind) {
  const status = element();
  status.hidden = false;
  status.className = `status ${kind}`;
  status.textContent = message;
  status.setAttribute("role", kind === "error" ? "alert" : "status");
  source = from;
  clearTimeout(timer);
  if (kind === "info") timer = setTimeout(() => clearStatus("info"), 5000);
}

// Clears the line if it shows a message from `from` (or any message without an argument).
export function clearStatus(from) {
  if (from !== undefined && source !== from) return;
  element().hidden = true;
  source = null;
}
