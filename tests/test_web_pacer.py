"""The run's pacing (static/js/pacer.js, issue 10 defect 9), on a fake clock in a real browser.

The module is imported into the demo page and driven by a clock the test advances, with round
trips of chosen lengths: the requests it asks for are checked against the schedule
``speed x elapsed``, so nothing here depends on how fast this machine is. How fast the real page
runs is measured, not tested, by benchmarks/bench_web.py.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from playwright.sync_api import Page

from tests import test_web_browser as shared
from tests.test_web_browser import open_demo

base_url = shared.base_url
browser = shared.browser

pytestmark = shared.pytestmark  # slow, and Chromium needed

MAX_DEBT_S = 0.25  # pacer.js's MAX_DEBT_S (not exported): the backlog kept after a stall

# Runs the Pacer through a plan of requests, each [speed, round trip in ms]: before each it
# waits as long as the pacer says (the fake clock jumps), then asks for what it is told, the
# answer arriving a round trip later. Returns each request's time, steps and the wait before it.
# A timer fires no sooner than 1 µs here (a browser's, 1 ms or more): a wait of 1e-13 ms, left
# by rounding when 1 / speed is not a whole number of ms, does not move a clock at 5000 ms.
SIMULATE = """async (plan) => {
  const { Pacer, MAX_BATCH } = await import('/static/js/pacer.js');
  let clock = 5000;
  const pacer = new Pacer(() => clock);
  const requests = [];
  for (const [speed, roundTrip] of plan) {
    let waited = 0;
    let next = pacer.next(speed);
    for (let k = 0; !next.steps; k++) {
      if (k > 3 || !(next.wait > 0)) throw new Error(`no request after ${k} waits: ${next.wait}`);
      const timer = Math.max(next.wait, 0.001);
      clock += timer;
      waited += timer;
      next = pacer.next(speed);
    }
    requests.push({ time: clock, steps: next.steps, waited });
    clock += roundTrip;
    pacer.record(next.steps);
  }
  return { requests, maxBatch: MAX_BATCH };
}"""

# Records [gap in ms, updates] answers on a fake clock; the rate after each.
RATES = """async (answers) => {
  const { Pacer } = await import('/static/js/pacer.js');
  let clock = 0;
  const pacer = new Pacer(() => clock);
  return answers.map(([gap, done]) => { clock += gap; pacer.record(done); return pacer.rate(); });
}"""


@pytest.fixture(scope="module")
def page(browser, base_url) -> Iterator[Page]:
    """One demo page, shared: the tests only import pacer.js into it."""
    context, demo = open_demo(browser, f"{base_url}/")
    yield demo.page
    context.close()
    assert demo.errors == [], "the page logged errors"


def simulate(page: Page, plan: list[tuple[float, float]]) -> tuple[list[dict], int]:
    result = page.evaluate(SIMULATE, [list(request) for request in plan])
    return result["requests"], result["maxBatch"]


def behind_schedule(requests: list[dict], speed: float) -> list[float]:
    """For each request, the updates due by its time (speed x seconds since the run started)
    minus all those asked for up to and including it: in [0, 1) when the pace is kept."""
    start = requests[0]["time"] - requests[0]["waited"]
    asked, behind = 0, []
    for request in requests:
        asked += request["steps"]
        behind.append(speed * (request["time"] - start) / 1000 - asked)
    return behind


@pytest.mark.parametrize("speed", [10, 30, 60])
def test_with_instant_round_trips_each_request_asks_for_one_update_every_1_over_speed(page, speed):
    requests, _ = simulate(page, [(speed, 0)] * 60)
    assert [r["steps"] for r in requests] == [1] * 60
    for request in requests:
        assert request["waited"] == pytest.approx(1000 / speed, abs=0.01)


@pytest.mark.parametrize(("speed", "round_trip"), [(300, 40), (300, 150), (60, 400), (30, 1000)])
def test_slow_round_trips_are_batched_and_keep_the_pace(page, speed, round_trip):
    """A round trip longer than 1 / speed: each request asks for every update that fell due,
    so the updates asked for stay within one of speed x elapsed."""
    requests, max_batch = simulate(page, [(speed, round_trip)] * 40)
    batches = [r["steps"] for r in requests[1:]]
    assert all(1 < steps <= max_batch for steps in batches), batches
    for behind in behind_schedule(requests, speed):
        assert -1e-9 <= behind < 1 + 1e-9


def test_a_round_trip_longer_than_a_full_batch_asks_full_batches_never_ahead(page):
    requests, max_batch = simulate(page, [(300, 500)] * 20)  # 150 due per round trip
    assert [r["steps"] for r in requests[1:]] == [max_batch] * 19
    assert min(behind_schedule(requests, 300)) >= -1e-9


@pytest.mark.parametrize("speed", [30, 300])
def test_after_a_stall_the_catch_up_is_capped(page, speed):
    """A 5 s stall (a hidden tab, a busy server): the requests made the moment it ends, with
    instant answers, ask for one batch plus at most MAX_DEBT_S worth of updates, not 5 s worth;
    then the run goes on at the pace, 1 update every 1 / speed."""
    plan = [(speed, 0)] * 10 + [(speed, 5000)] + [(speed, 0)] * 20
    requests, max_batch = simulate(page, plan)
    stall_end = requests[10]["time"] + 5000
    catch_up = [r["steps"] for r in requests if r["time"] == stall_end]
    assert catch_up[0] == max_batch
    assert speed * MAX_DEBT_S - 1 <= sum(catch_up[1:]) <= speed * MAX_DEBT_S
    after = [r for r in requests if r["time"] > stall_end]
    assert after, "the plan ended inside the catch-up"
    assert [r["steps"] for r in after] == [1] * len(after)
    assert after[0]["waited"] <= 1000 / speed + 0.01


@pytest.mark.parametrize(("before", "after"), [(300, 30), (30, 300)])
def test_changing_the_speed_restarts_the_debt(page, before, after):
    """After 2 s at one speed the other starts from zero: no burst of updates owed at the old
    speed's start, no long wait for the new schedule to catch up with what was asked."""
    plan = [(before, 40)] * 10 + [(before, 2000)] + [(after, 0)] * 10
    requests, _ = simulate(page, plan)
    switched = requests[11:]
    assert [r["steps"] for r in switched] == [1] * 10
    assert switched[0]["waited"] == pytest.approx(1000 / after, abs=0.01)
    for behind in behind_schedule(switched, after):
        assert -1e-9 <= behind < 1 + 1e-9


def window_rates(answers: list[tuple[float, int]]) -> list[float | None]:
    """The oracle: after each answer, the updates since the window's start divided by its span,
    the window starting at the last answer at least 1 s old (or the first answer)."""
    times, totals, rates = [], [], []
    clock, total = 0.0, 0
    for gap, done in answers:
        clock += gap
        total += done
        times.append(clock)
        totals.append(total)
        old = [k for k in range(len(times) - 1) if times[k] <= clock - 1000]
        start = old[-1] if old else 0
        span = clock - times[start]
        rates.append((total - totals[start]) * 1000 / span if span > 0 else None)
    return rates


@pytest.mark.parametrize(
    ("answers", "rate"),
    [([(40, 12)] * 60, 300.0), ([(100 / 3, 1)] * 90, 30.0), ([(500, 50)] * 6, 100.0)],
)
def test_a_steady_run_shows_its_rate(page, answers, rate):
    rates = page.evaluate(RATES, [list(a) for a in answers])
    assert rates[0] is None
    assert rates[-1] == pytest.approx(rate, rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0.5, 700, allow_nan=False), st.integers(1, 50)), min_size=1, max_size=40
    )
)
def test_the_rate_is_the_updates_in_the_last_second_over_its_span(page, answers):
    rates = page.evaluate(RATES, [list(a) for a in answers])
    for got, expected in zip(rates, window_rates(answers), strict=True):
        if expected is None:
            assert got is None
        else:
            assert got == pytest.approx(expected, rel=1e-12)


def test_reset_forgets_the_rate_and_the_schedule(page):
    rate, first = page.evaluate("""async () => {
      const { Pacer } = await import('/static/js/pacer.js');
      let clock = 0;
      const pacer = new Pacer(() => clock);
      pacer.next(30);
      for (let k = 0; k < 5; k++) { clock += 100; pacer.record(3); }
      clock += 3000;
      pacer.reset();
      return [pacer.rate(), pacer.next(30)];
    }""")
    assert rate is None
    assert first == pytest.approx({"steps": 0, "wait": 1000 / 30})


@pytest.mark.parametrize(
    ("rate", "text"),
    [
        (None, ""),
        (math.nan, ""),
        (math.inf, ""),
        (0, "0.0 / s"),
        (9.94, "9.9 / s"),
        (10, "10 / s"),
        (29.6, "30 / s"),
        (300.4, "300 / s"),
    ],
)
def test_format_rate(page, rate, text):
    shown = page.evaluate(
        """async (rate) => {
          const { formatRate } = await import('/static/js/pacer.js');
          return formatRate(rate === "nan" ? NaN : rate === "inf" ? Infinity : rate);
        }""",
        "nan" if rate is not None and math.isnan(rate) else "inf" if rate == math.inf else rate,
    )
    assert shown == text
