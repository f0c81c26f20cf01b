"""The Explain and Losses tabs in Chromium (issue 10, "beyond every other demo"): each shows
the server's numbers for the page's current state, refreshes when that state changes, and asks
nothing while hidden. Fixtures come from tests/test_web_browser.py.
"""

# ruff: noqa: F811  (the fixtures imported from test_web_browser are parameters here by name)
from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from slopelab.losses import EXAMPLE_LOSSES
from tests.test_web_api import CS231N_X, problem
from tests.test_web_browser import (  # noqa: F401  (pytest fixtures and the slow marker)
    Demo,
    base_url,
    browser,
    demo,
    open_demo,
    pytestmark,
)

PHONE = {"width": 390, "height": 844}
PARAM_NAMES = [f"{key}[{d},{j}]" if key == "W" else f"b[{j}]"
               for j in range(3) for key, d in (("W", 0), ("W", 1), ("b", None))]  # fmt: skip


def read(text: str) -> float:
    return float(text.replace("−", "-"))


def click_point(on: Demo, index: int) -> None:
    """Click the CS231n point ``index`` on the data canvas (selects it)."""
    x, y = on.canvas_point("data-canvas", *CS231N_X[index])
    on.page.mouse.click(x, y)
    on.settle()


def open_tab(on: Demo, tab: str) -> None:
    on.tid(f"tab-{tab}").click()
    current(on, tab)


def current(on: Demo, tab: str) -> None:
    """Wait until the tab shows the answer for the page's present state."""
    on.settle()
    expect(on.tid(f"panel-{tab}")).to_have_attribute("data-state", "current")


def server(base_url: str, path: str, body: dict) -> dict:
    response = httpx.post(f"{base_url}{path}", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def shown_params(on: Demo, column: str) -> dict[str, float]:
    return {name: read(on.tid(f"{column}-{name}").inner_text()) for name in PARAM_NAMES}


# Explain


@pytest.mark.parametrize("loss", list(EXAMPLE_LOSSES))
def test_a_clicked_point_is_explained_with_the_server_s_loss(demo, base_url, loss):
    demo.tid(f"loss-{loss}").click()
    click_point(demo, 4)
    open_tab(demo, "explain")
    expect(demo.tid("explain-point")).to_contain_text("#4")
    expected = server(base_url, "/api/evaluate", problem(loss))["points"]["losses"][4]
    assert read(demo.tid("explain-loss").inner_text()) == pytest.approx(expected, abs=5e-5)
    if loss != "softmax":
        expect(demo.tid("explain-hinges").locator("td.active")).not_to_have_count(0)


def test_next_point_walks_through_the_points(demo, base_url):
    open_tab(demo, "explain")
    expect(demo.tid("explain-point")).to_contain_text("No point selected")
    losses = server(base_url, "/api/evaluate", problem())["points"]["losses"]
    for index in (0, 1, 2):
        demo.tid("explain-next").click()
        current(demo, "explain")
        expect(demo.tid("explain-point")).to_contain_text(f"#{index}")
        assert read(demo.tid("explain-loss").inner_text()) == pytest.approx(losses[index], abs=5e-5)


@pytest.mark.parametrize("rule", ["sgd", "adam"])
def test_a_step_moves_w_and_b_as_the_panel_predicted(demo, rule):
    demo.tid("optimizer").select_option(rule)
    demo.tid("step").click()  # a state with history: Adam's moments are not fresh
    demo.settle()
    open_tab(demo, "explain")
    demo.tid("explain-next").click()
    current(demo, "explain")
    predicted = shown_params(demo, "after")
    demo.tid("step").click()
    current(demo, "explain")
    for name, value in predicted.items():
        now = read(demo.page.locator(f'tr[data-param="{name}"] td').first.inner_text())
        assert now == pytest.approx(value, abs=6e-4), name  # "now" shows 3 decimals
    shown_w00 = read(demo.tid("value-W-0-0").inner_text())  # the W, b card: 2 decimals
    assert shown_w00 == pytest.approx(predicted["W[0,0]"], abs=5e-3)


def test_the_sgd_step_is_minus_the_step_size_times_the_gradient(demo):
    open_tab(demo, "explain")
    demo.tid("explain-next").click()
    current(demo, "explain")
    expect(demo.tid("explain-update")).to_contain_text("η = 0.1000")
    rows = demo.page.locator("[data-testid=explain-gradient] tbody tr")
    for i in range(rows.count()):
        cells = [read(t) for t in rows.nth(i).locator("td").all_inner_texts()]
        gradient, step = cells[3], cells[4]
        assert step == pytest.approx(-0.1 * gradient, abs=1e-4)


def test_the_explain_panel_follows_edits_of_the_point_and_reg(demo, base_url):
    click_point(demo, 4)
    open_tab(demo, "explain")
    before = demo.tid("explain-loss").inner_text()
    demo.tid("class-0").click()  # relabels the selected point
    current(demo, "explain")
    body = problem()
    body["data"]["y"][4] = 0
    expected = server(base_url, "/api/evaluate", body)["points"]["losses"][4]
    assert demo.tid("explain-loss").inner_text() != before
    assert read(demo.tid("explain-loss").inner_text()) == pytest.approx(expected, abs=5e-5)
    reg_before = demo.page.locator('tr[data-param="W[0,0]"] td').nth(2).inner_text()
    for _ in range(10):  # the slider shows two digits: one press may keep 0.10
        demo.tid("reg-slider").press("ArrowRight")
    expect(demo.tid("reg")).not_to_have_text("0.10")
    current(demo, "explain")
    expect(demo.page.locator('tr[data-param="W[0,0]"] td').nth(2)).not_to_have_text(reg_before)


# Losses


def test_the_losses_tab_shows_all_four_totals_from_the_server(demo, base_url):
    open_tab(demo, "losses")
    body = problem()
    del body["loss"]
    rows = server(base_url, "/api/losses", body)["losses"]
    for row in rows:
        total = read(demo.tid(f"losses-total-{row['name']}").inner_text())
        assert total == pytest.approx(row["total"], abs=5e-4)
        count = f"{len(row['penalized'])} / 9"
        expect(demo.tid(f"losses-count-{row['name']}")).to_have_text(count)
    expect(demo.tid("losses-row-svm")).to_contain_text("(in use)")
    in_use = demo.number("total-loss")  # the totals card: 2 decimals
    assert read(demo.tid("losses-total-svm").inner_text()) == pytest.approx(in_use, abs=5e-3)


def test_hovering_a_loss_rings_its_points_and_a_number_selects_one(demo, base_url):
    open_tab(demo, "losses")
    demo.tid("losses-row-svm-structured").locator("th").hover()
    expect(demo.tid("data-canvas")).to_have_attribute("data-marked", "0,1,3,4,5,6,7,8")
    demo.tid("losses-row-svm-ova").locator("button[data-point='2']").click()
    open_tab(demo, "explain")
    expect(demo.tid("explain-point")).to_contain_text("#2")


def test_the_losses_tab_follows_steps_and_the_loss_in_use(demo):
    open_tab(demo, "losses")
    before = demo.tid("losses-total-softmax").inner_text()
    demo.tid("step").click()
    current(demo, "losses")
    expect(demo.tid("losses-total-softmax")).not_to_have_text(before)
    demo.tid("loss-softmax").click()
    current(demo, "losses")
    expect(demo.tid("losses-row-softmax")).to_contain_text("(in use)")
    expect(demo.tid("losses-row-svm")).not_to_contain_text("(in use)")


def test_hidden_panels_ask_the_server_nothing(demo):
    asked: list[str] = []
    demo.page.on("request", lambda r: asked.append(r.url))
    click_point(demo, 1)
    for _ in range(3):
        demo.tid("step").click()
        demo.settle()
    demo.tid("loss-softmax").click()
    demo.settle()
    assert not [url for url in asked if url.endswith(("/api/explain", "/api/losses"))]
    open_tab(demo, "losses")
    assert sum(url.endswith("/api/losses") for url in asked) == 1
    assert not [url for url in asked if url.endswith("/api/explain")]


# Phone width


def test_the_new_tabs_fit_a_phone(browser, base_url):
    context, on = open_demo(browser, f"{base_url}/", viewport=PHONE)
    try:
        on.tid("tab-explain").scroll_into_view_if_needed()
        open_tab(on, "explain")
        on.tid("explain-next").click()
        current(on, "explain")
        page_width = on.page.evaluate("document.documentElement.scrollWidth")
        assert page_width <= PHONE["width"]  # wide tables scroll inside their box
        open_tab(on, "losses")
        total = on.tid("losses-total-svm").bounding_box()
        assert total["x"] + total["width"] <= PHONE["width"]
        assert on.page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        on.shoot("test_the_new_tabs_fit_a_phone")
    finally:
        context.close()
    assert on.errors == [], "the page logged errors"


# Found while testing the tabs against a slow server: describing a point (tooltip, Data tab)
# after a switch to softmax, before the new evaluation arrived, read probabilities of the old one.


def test_hovering_a_point_while_a_loss_change_is_in_flight_logs_no_error(demo):
    click_point(demo, 1)
    held: list = []
    demo.page.route("**/api/evaluate", lambda route: held.append(route))  # held: not answered
    demo.tid("loss-softmax").click()
    x, y = demo.canvas_point("data-canvas", *CS231N_X[1])
    demo.page.mouse.move(x + 1, y + 1)
    expect(demo.page.locator("#data-tooltip")).to_contain_text("#1")
    assert demo.errors == []
    for route in held:
        route.continue_()
    demo.page.unroute("**/api/evaluate")
    demo.settle()
    expect(demo.page.locator("#data-tooltip")).to_contain_text("#1")
