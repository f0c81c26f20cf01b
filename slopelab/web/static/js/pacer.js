// Pacing a run at the requested updates per second, and measuring the rate it reaches.
//
// The run owes speed * (seconds since it started) updates. Each request asks for all the
// updates that fell due since the last one (at most MAX_BATCH), so when one round trip takes
// longer than 1 / speed the updates are batched and the rate still tracks the request. The
// server returns every update of a batch as its own iterate, so batching drops none.

export const MAX_BATCH = 50; // updates per request (the API allows 200)
// After a stall (hidden tab, busy server) the run catches up by at most one batch plus this
// many seconds of updates; the rest of the debt is forgiven (a slow round trip still batches).
const MAX_DEBT_S = 0.25;
const RATE_WINDOW_MS = 1000; // the shown rate: updates over about the last second

export class Pacer {
  constructor(now = () => performance.now()) {
    this.now = now;
    this.speed = null;
    this.samples = [];
  }

  // A run starts (or the requested speed changes): the debt starts from zero.
  restart(speed) {
    this.speed = speed;
    this.origin = this.now();
    this.owed = 0; // updates asked for since origin
  }

  // How many updates to ask for now, or how long to wait (ms) before the next one falls due.
  next(speed) {
    if (speed !== this.speed) this.restart(speed);
    const elapsed = (this.now() - this.origin) / 1000;
    const due = elapsed * speed - this.owed;
    if (due < 1) return { steps: 0, wait: ((1 - due) / speed) * 1000 };
    const steps = Math.min(MAX_BATCH, Math.floor(due));
    const backlog = due - steps - speed * MAX_DEBT_S;
    if (backlog > 0) this.origin += (backlog / speed) * 1000;
    this.owed += steps;
    return { steps, wait: 0 };
  }

  // done updates were applied just now.
  record(done) {
    const now = this.now();
    const total = (this.samples.length ? this.samples[this.samples.length - 1][1] : 0) + done;
    this.samples.push([now, total]);
    while (this.samples.length > 2 && this.samples[1][0] <= now - RATE_WINDOW_MS) this.samples.shift();
  }

  // Updates per second over about the last second; null before there are two measurements.
  rate() {
    if (this.samples.length < 2) return null;
    const [t0, n0] = this.samples[0];
    const [t1, n1] = this.samples[this.samples.length - 1];
    return t1 > t0 ? ((n1 - n0) * 1000) / (t1 - t0) : null;
  }

  reset() {
    this.speed = null;
    this.samples = [];
  }
}

export function formatRate(rate) {
  if (rate === null || !Number.isFinite(rate)) return "";
  return `${rate >= 10 ? Math.round(rate) : rate.toFixed(1)} / s`;
}
