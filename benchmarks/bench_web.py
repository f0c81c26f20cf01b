"""Benchmark the web demo against its budget: a step on 100 points under 20 ms, a 60x60 loss
landscape under 200 ms; and the updates per second a run reaches in the page at 30/s and 300/s.

Not a test: it prints the median of interleaved repeats (every candidate once per round, in a
fresh order each round; timings on shared machines drift), once for the computation alone and
once for the whole HTTP round trip through uvicorn (JSON in, validation, computation, JSON out),
with the BLAS kernel and thread count. Then Chromium (Playwright, /usr/bin/chromium) runs the
page at each speed: the rate achieved is the step counter's growth over the page's clock, beside
the rate the page shows and the ratio achieved / requested.

    python benchmarks/bench_web.py                                    # 30 repeats; 3 x 3 s runs
    python benchmarks/bench_web.py --repeats 5 --pace-seconds 1 --pace-repeats 1  # a quick look
    python benchmarks/bench_web.py --pace-seconds 0                   # the API alone
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import numpy as np
import uvicorn
from timing import describe_blas, interleaved

from slopelab.data.toy2d import blobs
from slopelab.losses import get_loss
from slopelab.optim import get_optimizer
from slopelab.web import create_app
from slopelab.web.compute import advance, evaluate
from slopelab.web.convert import Setup
from slopelab.web.features import FEATURES
from slopelab.web.landscape import landscape
from slopelab.web.models import AxesIn
from slopelab.web.server import bind

NUM_POINTS = 100
GRID = 200  # background cells per side, as the page asks
LANDSCAPE = 60
BUDGETS_MS = {"step": 20.0, "landscape": 200.0}
SPEEDS = (30, 300)  # updates per second, as the page's Speed selector offers them
WARM_UP_S = 0.5  # of each run, not measured: its first answers include the page's start-up
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]  # fmt: skip
STEPS_AND_CLOCK = """() => [
  parseInt(document.querySelector('[data-testid=step-count]').textContent.slice(5)),
  performance.now(),
]"""


@contextlib.contextmanager
def served() -> Iterator[str]:
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning", ws="none",
                                           lifespan="off"))  # fmt: skip
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join()


def paced_run(browser, base_url: str, speed: int, seconds: float) -> tuple[float, float]:
    """One run of the page at ``speed``: the updates per second it reached over ``seconds``
    (step counter over the page's clock) and the rate it showed at their end."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        page.goto(f"{base_url}/")
        page.wait_for_selector("body[data-ready=true]")
        page.select_option("[data-testid=speed]", str(speed))
        page.click("[data-testid=run]")
        page.wait_for_selector("[data-testid=speed-achieved][data-rate]")
        time.sleep(WARM_UP_S)
        steps0, clock0 = page.evaluate(STEPS_AND_CLOCK)
        time.sleep(seconds)
        steps1, clock1 = page.evaluate(STEPS_AND_CLOCK)
        shown = float(page.get_attribute("[data-testid=speed-achieved]", "data-rate"))
        page.click("[data-testid=run]")
    finally:
        page.close()
    return (steps1 - steps0) * 1000 / (clock1 - clock0), shown


def pace_section(base_url: str, seconds: float, repeats: int) -> None:
    """The speeds' runs in a fresh seeded order each round; medians of achieved and shown."""
    from playwright.sync_api import sync_playwright

    print(f"\npage runs in Chromium: {seconds:g} s measured after {WARM_UP_S:g} s of each run,")
    print(f"median of {repeats} interleaved runs per speed")
    if not CHROMIUM.exists():
        print(f"  not measured: needs Chromium at {CHROMIUM}")
        return
    achieved: dict[int, list[float]] = {speed: [] for speed in SPEEDS}
    shown: dict[int, list[float]] = {speed: [] for speed in SPEEDS}
    order = random.Random(0)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        for _ in range(repeats):
            for speed in order.sample(SPEEDS, len(SPEEDS)):
                rate, rate_shown = paced_run(browser, base_url, speed, seconds)
                achieved[speed].append(rate)
                shown[speed].append(rate_shown)
        browser.close()
    for speed in SPEEDS:
        rate, rate_shown = statistics.median(achieved[speed]), statistics.median(shown[speed])
        spread = f"{min(achieved[speed]):.1f} to {max(achieved[speed]):.1f}"
        print(
            f"  requested {speed:4d} / s   achieved {rate:6.1f} / s   shown {rate_shown:6.1f} / s"
            f"   achieved / requested {rate / speed:.2f}   (achieved, each run: {spread})"
        )
    print("  achieved = step counter's growth / page clock; shown = the page's own reading")
    print(
        "  load average {:.1f} / {:.1f} / {:.1f} (1 / 5 / 15 min) at the end".format(
            *os.getloadavg()
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--pace-seconds", type=float, default=3.0,
                        help="seconds measured of each page run (0: no page runs)")  # fmt: skip
    parser.add_argument("--pace-repeats", type=int, default=3)
    args = parser.parse_args()

    X, y = blobs(num_points=NUM_POINTS, num_classes=3, noise=0.2, rng=np.random.default_rng(0))
    params = {"W": np.array([[1.0, 2.0, 3.0], [2.0, -4.0, -1.0]]), "b": np.array([0.0, 0.5, -0.5])}
    setup = Setup(X, y, 3, get_loss("softmax"), 0.1)
    optimizer = get_optimizer("momentum", 0.1)
    axes = AxesIn(kind="coordinates", first="W[0,0]", second="W[1,0]")
    path = [params] * 100

    def step_compute() -> None:
        result = advance(setup, params, optimizer, optimizer.init(params), num_steps=1)
        evaluate(setup, result["params"], grid_size=GRID)

    def landscape_compute() -> None:
        landscape(setup, params, axes, span=2.0, size=LANDSCAPE, paths=[path])

    json_params = {"W": params["W"].tolist(), "b": params["b"].tolist()}
    problem = {"data": {"X": X.tolist(), "y": y.tolist(), "num_classes": 3},
               "params": json_params, "loss": "softmax", "reg": 0.1}  # fmt: skip
    step_body = {**problem, "optimizer": {"name": "momentum", "learning_rate": 0.1},
                 "num_steps": 1, "grid_size": GRID}  # fmt: skip
    landscape_body = {**problem, "axes": axes.model_dump(), "span": 2.0, "size": LANDSCAPE,
                      "paths": [[json_params] * 100]}  # fmt: skip
    # every feature (W 7 x 3) and both regularization conventions: the largest model the API takes
    featured_params = {"W": json_params["W"] + [[0.1, -0.2, 0.3]] * 5, "b": json_params["b"]}
    featured = {"features": list(FEATURES), "params": featured_params,
                "conventions": {"half_l2": True, "regularize_bias": True}}  # fmt: skip
    featured_landscape = {**landscape_body, **featured, "paths": [[featured_params] * 100]}

    print(f"slopelab web demo benchmark: {NUM_POINTS} points, 3 classes, softmax, momentum")
    print(f"BLAS: {describe_blas()}")
    print(f"median of {args.repeats} interleaved repeats\n")
    with served() as base_url, httpx.Client(base_url=base_url) as client:

        def post(path: str, body: dict) -> Callable[[], None]:
            def run() -> None:
                response = client.post(path, json=body)
                response.raise_for_status()

            return run

        times = interleaved(
            {
                "step: compute": step_compute,
                "step: HTTP round trip": post("/api/step", step_body),
                "landscape: compute": landscape_compute,
                "landscape: HTTP round trip": post("/api/landscape", landscape_body),
                "step: HTTP, 5 features": post("/api/step", {**step_body, **featured}),
                "landscape: HTTP, 5 features": post("/api/landscape", featured_landscape),
            },
            args.repeats,
            warm_up=True,
        )
    for name, seconds in times.items():
        milliseconds = 1e3 * seconds
        budget = BUDGETS_MS[name.split(":")[0]]
        verdict = "within" if milliseconds <= budget else "OVER"
        print(f"  {name:28s} {milliseconds:8.2f} ms   ({verdict} the {budget:g} ms budget)")
    print(
        f"\n  step = 1 update + full-batch losses + {GRID}x{GRID} class regions + lines;"
        f"\n  landscape = {LANDSCAPE}x{LANDSCAPE} total losses + a 100-point path projected;"
        "\n  5 features = phi(x) with all five features (W 7 x 3), 0.5 reg, penalized bias"
    )
    if args.pace_seconds > 0:
        with served() as base_url:
            pace_section(base_url, args.pace_seconds, args.pace_repeats)


if __name__ == "__main__":
    main()
