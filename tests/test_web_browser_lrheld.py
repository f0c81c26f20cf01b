"""Issue 10's "Learning rate first" tab and held-out points, in Chromium: the page shows the
server's numbers, a click on the scan uses its rate, and the split survives a share link.
Fixtures come from tests/test_web_browser.py.
"""

# ruff: noqa: F811  (the fixtures imported from test_web_browser are parameters here by name)
from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import numpy as np
import pytest
from playwright.sync_api import expect

from slopelab import get_loss
from slopelab.linear import accuracy
from slopelab.web.heldout import random_mask
from tests.test_web_api import as_params, problem
from tests.test_web_browser import (  # noqa: F401  (pytest fixtures and the slow marker)
    Demo,
    base_url,
    browser,
    demo,
    open_demo,
    pytestmark,
)

SGD = {"name": "sgd", "learning_rate": 0.1, "hyperparams": {}, "schedule": None}
PHONE = {"width": 390, "height": 844}


def api(base_url: str, path: str, body: dict) -> dict:
    response = httpx.post(f"{base_url}{path}", json=body, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def compact(value: float) -> str:
    """The page's compact(): three decimals below 10 (the scan's losses here)."""
    assert 1e-3 <= abs(value) < 10
    return f"{value:.3f}"


def slider(value: float) -> str:
    """The page's sliderValue(): two decimals from 1, else two significant digits."""
    return f"{value:.2f}" if value >= 1 else f"{float(f'{value:.2g}'):g}"


def scan(base_url: str, num_steps: int, **changes) -> dict:
    body = {**problem(**changes), "optimizer": SGD, "opt_state": None, "batch": None, "step": 0,
            "num_steps": num_steps, "min_rate": 5e-4, "max_rate": 5.0, "num_rates": 21}  # fmt: skip
    return api(base_url, "/api/lr_scan", body)


def lowest(result: dict) -> dict:
    return min((p for p in result["points"] if p["total"] is not None), key=lambda p: p["total"])


def click_rate(on: Demo, rate: float) -> None:
    """Click the scan's plot at ``rate`` (its x axis spans 5e-4 .. 5 in log10), mid-height."""
    plot = on.tid("lr-scan")
    expect(plot).to_have_attribute("data-plot", re.compile(r"\d+,\d+,\d+,\d+"))
    left, top, width, height = map(int, plot.get_attribute("data-plot").split(","))
    box = plot.bounding_box()
    u = (np.log10(rate) - np.log10(5e-4)) / (np.log10(5.0) - np.log10(5e-4))
    on.page.mouse.click(box["x"] + left + u * width, box["y"] + top + height / 2)


# ---------------------------------------------------------------- learning rate first


@pytest.mark.parametrize("steps", [50, 10])
def test_the_learning_rate_tab_shows_the_servers_scan(demo, base_url, steps):
    demo.tid("tab-lr").click()
    if steps != 50:
        demo.tid("lr-steps").select_option(str(steps))
    expected = scan(base_url, steps)
    best, now = lowest(expected), expected["current"]
    expect(demo.tid("lr-readout")).to_have_text(
        f"Loss after {steps} steps: {compact(now['total'])} at the rate in use, η = 0.10 · "
        f"lowest {compact(best['total'])} at η = {slider(best['learning_rate'])}. "
        "Click the plot to use a rate."
    )
    plot = demo.tid("lr-scan")
    expect(plot).to_have_attribute("data-rates", "21")
    expect(plot).to_have_attribute("data-diverged", "0")
    expect(plot).to_have_attribute("data-current", "0.1")


def test_clicking_the_scan_uses_that_rate_for_the_next_step(demo, base_url):
    demo.tid("tab-lr").click()
    expected = scan(base_url, 50)
    best = lowest(expected)
    expect(demo.tid("lr-readout")).to_contain_text(f"lowest {compact(best['total'])}")
    click_rate(demo, best["learning_rate"])
    rate = float(f"{best['learning_rate']:.2g}")  # the slider's two significant digits
    expect(demo.tid("step-size")).to_have_text(slider(rate))
    expect(demo.tid("lr-scan")).to_have_attribute("data-current", repr(rate))
    demo.tid("step").click()
    expect(demo.tid("step-count")).to_have_text("step 1")
    demo.settle()
    step = api(base_url, "/api/step", {**problem(), "optimizer": {**SGD, "learning_rate": rate}})
    expect(demo.tid("total-loss")).to_have_text(f"{step['records'][0]['total']:.2f}")


def test_diverged_rates_are_marked_not_dropped(demo, base_url):
    demo.tid("reg-slider").fill("1")  # lambda = 100: SGD's W <- (1 - 200 eta) W blows up
    expect(demo.tid("reg")).to_have_text("100.00")
    demo.tid("tab-lr").click()
    expected = scan(base_url, 50, reg=100.0)
    diverged = [p for p in expected["points"] if p["status"] == "diverged"]
    assert diverged, "the test needs diverging rates"
    expect(demo.tid("lr-scan")).to_have_attribute("data-diverged", str(len(diverged)))
    expect(demo.tid("lr-readout")).to_contain_text(
        f"diverged (×) from η = {slider(diverged[0]['learning_rate'])}: {len(diverged)} of 21 rates"
    )
    expect(demo.tid("lr-readout")).to_contain_text("diverges at the rate in use, η = 0.10")


# ---------------------------------------------------------------- held-out points


def hold_out(on: Demo, fraction: str) -> list[bool]:
    on.tid("tab-data").click()
    on.tid("test-fraction").select_option(fraction)
    mask = random_mask(9, float(fraction), 0)
    chosen = ",".join(str(i) for i, t in enumerate(mask) if t)
    expect(on.tid("data-canvas")).to_have_attribute("data-test", chosen)
    on.settle()
    return mask


def split_problem(mask: list[bool]) -> dict:
    body = problem()
    body["data"]["test"] = mask
    return body


def test_held_out_points_train_on_the_rest_and_report_test_metrics(demo, base_url):
    mask = hold_out(demo, "0.3")
    expect(demo.tid("legend-test")).to_be_visible()
    expect(demo.tid("test-count")).to_have_text(
        "3 of 9 points held out (hollow): trained on the other 6"
    )
    body = split_problem(mask)
    X, y = np.array(body["data"]["X"])[mask], np.array(body["data"]["y"])[mask]
    params = as_params(body["params"])
    expect(demo.tid("test-accuracy")).to_have_text(f"{round(accuracy(params, X, y) * 100)}%")
    test_loss = get_loss("svm").parts(params, X, y, 0.1).data_loss
    expect(demo.tid("test-loss")).to_have_text(f"{test_loss:.2f}")
    kept = ~np.array(mask)
    data = body["data"]
    train_data = {"X": np.array(data["X"])[kept].tolist(), "y": np.array(data["y"])[kept].tolist()}
    train = {**problem(), "data": {**train_data, "num_classes": 3}}
    expect(demo.tid("data-loss")).to_have_text(
        f"{api(base_url, '/api/evaluate', train)['data_loss']:.2f}"
    )
    demo.tid("step").click()
    expect(demo.tid("step-count")).to_have_text("step 1")
    demo.settle()
    record = api(base_url, "/api/step", {**train, "optimizer": SGD})["records"][0]
    expect(demo.tid("total-loss")).to_have_text(f"{record['total']:.2f}")
    expect(demo.tid("chart-readout")).to_contain_text("test data")
    demo.tid("tab-points").click()  # held-out rows say so; the mean is over the train rows
    expect(demo.tid("point-row-0").locator("td").first).to_have_text("0 test" if mask[0] else "0")
    expect(demo.page.locator("tr.held-out")).to_have_count(3)
    expect(demo.page.get_by_text("mean over train points = data loss")).to_be_visible()


def test_the_split_survives_a_new_point_and_a_share_link(demo, browser):
    mask = hold_out(demo, "0.5")
    chosen = ",".join(str(i) for i, t in enumerate(mask) if t)
    demo.page.mouse.click(*demo.canvas_point("data-canvas", -0.8, -0.9))
    expect(demo.tid("data-canvas")).to_have_attribute("data-points", "10")
    expect(demo.tid("data-canvas")).to_have_attribute("data-test", chosen)  # the new one trains
    demo.settle()
    accuracy_shown = demo.tid("test-accuracy").inner_text()
    demo.tid("tab-share").click()
    demo.tid("share-link").click()
    expect(demo.tid("status")).to_contain_text("ink")
    context, reopened = open_demo(browser, demo.page.url)
    try:
        expect(reopened.tid("data-canvas")).to_have_attribute("data-test", chosen)
        expect(reopened.tid("test-accuracy")).to_have_text(accuracy_shown)
    finally:
        context.close()
    assert reopened.errors == []


def test_the_split_round_trips_through_json_export_and_import(demo, browser, base_url):
    mask = hold_out(demo, "0.3")
    demo.tid("step").click()
    expect(demo.tid("step-count")).to_have_text("step 1")
    demo.settle()
    demo.tid("tab-share").click()
    with demo.page.expect_download() as download:
        demo.tid("export-json").click()
    exported = json.loads(Path(download.value.path()).read_text())
    assert exported["data"]["test"] == mask
    assert exported["history"][-1]["test"]["accuracy"] is not None
    context, fresh = open_demo(browser, f"{base_url}/")
    try:
        fresh.tid("tab-share").click()
        fresh.tid("import-json").set_input_files(
            {"name": "split.json", "mimeType": "application/json",
             "buffer": json.dumps(exported).encode()}
        )  # fmt: skip
        chosen = ",".join(str(i) for i, t in enumerate(mask) if t)
        expect(fresh.tid("data-canvas")).to_have_attribute("data-test", chosen)
        expect(fresh.tid("test-accuracy")).to_have_text(demo.tid("test-accuracy").inner_text())
    finally:
        context.close()
    assert fresh.errors == []


def test_no_split_shows_no_test_boxes(demo):
    expect(demo.tid("test-accuracy")).to_be_hidden()
    expect(demo.tid("legend-test")).to_be_hidden()
    hold_out(demo, "0.2")
    expect(demo.tid("test-accuracy")).to_be_visible()
    demo.tid("test-fraction").select_option("0")
    expect(demo.tid("test-accuracy")).to_be_hidden()
    expect(demo.tid("data-canvas")).to_have_attribute("data-test", "")
    expect(demo.tid("total-loss")).to_have_text("6.27")


def test_both_panels_fit_a_phone(browser, base_url):
    context, phone = open_demo(browser, f"{base_url}/", viewport=PHONE)
    try:
        phone.tid("tab-data").scroll_into_view_if_needed()
        phone.tid("tab-data").click()
        for test_id in ("test-fraction", "test-seed"):
            box = phone.tid(test_id).bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], test_id
        phone.tid("tab-lr").scroll_into_view_if_needed()
        phone.tid("tab-lr").click()
        expect(phone.tid("lr-readout")).to_contain_text("Loss after 50 steps")
        for test_id in ("lr-scan", "lr-steps", "lr-readout"):
            box = phone.tid(test_id).bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], test_id
    finally:
        context.close()
    assert phone.errors == []
