// The JSON API. Every call sends the state it needs; errors carry the server's readable message.

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

async function request(path, body) {
  const options = body === undefined ? {} : {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  };
  let response;
  try {
    response = await fetch(path, options);
  } catch (error) {
    throw new ApiError("The demo server is not answering. Is `slopelab demo` still running?", 0);
  }
  const payload = await response.json().catch(() => ({}));
  if (!response.ok) {
    const message = payload.message || `The server answered ${response.status}`;
    throw new ApiError(message, response.status);
  }
  return payload;
}

export const api = {
  defaults: () => request("/api/defaults"),
  evaluate: (body) => request("/api/evaluate", body),
  step: (body) => request("/api/step", body),
  race: (body) => request("/api/race", body),
  landscape: (body) => request("/api/landscape", body),
  landscapePoint: (body) => request("/api/landscape/point", body),
  landscapeValue: (body) => request("/api/landscape/value", body),
  gradcheck: (body) => request("/api/gradcheck", body),
  dataset: (body) => request("/api/dataset", body),
  params: (body) => request("/api/params", body),
  python: (body) => request("/api/python", body),
  explain: (body) => request("/api/explain", body),
  losses: (body) => request("/api/losses", body),
  lrScan: (body) => request("/api/lr_scan", body),
  split: (body) => request("/api/split", body),
};

// One request at a time per lane; a task queued under a key replaces a waiting task with
// the same key (the newest state wins), so drags and fast runs never pile up requests.
export class Lane {
  constructor(onIdleChange = () => {}) {
    this.busy = false;
    this.queue = [];
    this.onIdleChange = onIdleChange;
  }

  get idle() {
    return !this.busy && this.queue.length === 0;
  }

  run(task, key = null) {
    return new Promise((resolve, reject) => {
      if (key !== null) {
        const index = this.queue.findIndex((queued) => queued.key === key);
        if (index >= 0) {
          this.queue[index].resolve(undefined);
          this.queue.splice(index, 1);
        }
      }
      this.queue.push({ task, key, resolve, reject });
      this.onIdleChange(false);
      this.pump();
    });
  }

  async pump() {
    if (this.busy) return;
    const next = this.queue.shift();
    if (!next) {
      this.onIdleChange(true);
      return;
    }
    this.busy = true;
    try {
      next.resolve(await next.task());
    } catch (error) {
      next.reject(error);
    } finally {
      this.busy = false;
      this.pump();
    }
  }
}
