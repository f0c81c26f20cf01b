"""A fresh student's pass over the finished issue 10 page: what the panels built separately
show when they are used together (features with Explain, a split through a share link).
Fixtures come from tests/test_web_browser.py.
"""

# ruff: noqa: F811  (the fixtures imported from test_web_browser are parameters here by name)
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.test_web_browser import (  # noqa: F401  (pytest fixtures and the slow marker)
    base_url,
    browser,
    demo,
    open_demo,
    pytestmark,
)


def test_explain_writes_the_score_with_every_feature_row(demo):
    """With features the score is s_j = sum_d phi_d W[d,j] + b_j: the row that names the
    formula must list the feature rows too, or a student adding x0 W[0,j] + x1 W[1,j] + b_j by
    hand gets another number than the one shown beside it."""
    demo.tid("feature-x0^2").check()
    demo.tid("feature-sin(x1)").check()
    demo.settle()
    demo.tid("tab-explain").click()
    demo.tid("explain-next").click()
    demo.settle()
    expect(demo.tid("panel-explain")).to_have_attribute("data-state", "current")
    header = demo.tid("explain-scores").locator("tbody tr th").first
    expect(header).to_contain_text("W[2,j]")
    expect(header).to_contain_text("W[3,j]")
    expect(header).to_contain_text("x₀²")
    expect(header).to_contain_text("sin x₁")
    demo.tid("feature-x0^2").uncheck()
    demo.tid("feature-sin(x1)").uncheck()
    demo.settle()
    expect(demo.tid("panel-explain")).to_have_attribute("data-state", "current")
    expect(header).not_to_contain_text("W[2,j]")


def test_a_shared_split_shows_its_fraction_and_a_new_seed_keeps_it(demo, browser):
    """A link (or an imported file) with held-out points must not show "Hold out: no points"
    beside "3 of 9 points held out": changing the seed there then silently dropped the split."""
    demo.tid("tab-data").click()
    demo.tid("test-fraction").select_option("0.3")
    demo.settle()
    expect(demo.tid("test-count")).to_contain_text("3 of 9")
    demo.tid("tab-share").click()
    demo.tid("share-link").click()
    expect(demo.tid("status")).to_contain_text("ink")
    context, reopened = open_demo(browser, demo.page.url)
    try:
        reopened.settle()
        expect(reopened.tid("test-count")).to_contain_text("3 of 9")
        expect(reopened.tid("test-fraction")).to_have_value("0.3")
        reopened.tid("tab-data").click()
        reopened.tid("test-seed").fill("5")
        reopened.tid("test-seed").press("Enter")
        reopened.settle()
        expect(reopened.tid("test-count")).to_contain_text("3 of 9")
        expect(reopened.tid("test-loss")).not_to_have_text("–")
    finally:
        context.close()
    assert reopened.errors == []


def test_the_long_score_formula_wraps_on_a_phone(browser, base_url):
    """Five features make the score's formula long: on a phone it must wrap, not push every
    number of the scores table out of sight."""
    context, phone = open_demo(browser, f"{base_url}/", viewport={"width": 390, "height": 844})
    try:
        for name in ["x0^2", "x1^2", "x0*x1", "sin(x0)", "sin(x1)"]:
            phone.tid(f"feature-{name}").check()
            phone.settle()
        phone.tid("tab-explain").click()
        phone.tid("explain-next").click()
        phone.settle()
        expect(phone.tid("panel-explain")).to_have_attribute("data-state", "current")
        header = phone.tid("explain-scores").locator("tbody tr th").first
        expect(header).to_contain_text("W[6,j]")
        first_score = phone.tid("explain-scores").locator("tbody tr td").first
        phone.tid("explain-point").scroll_into_view_if_needed()  # vertically; the table unscrolled
        box = first_score.bounding_box()
        assert box["x"] + box["width"] <= 390, f"the first score sits at x = {box['x']:.0f} px"
    finally:
        context.close()
    assert phone.errors == []


def test_the_learning_rate_plot_is_usable_from_the_keyboard(demo):
    """The scan's plot takes focus (tabindex 0), so the arrow keys must pick a rate there and
    Enter use it (before, focus reached it and no key did anything)."""
    demo.tid("tab-lr").click()
    plot = demo.tid("lr-scan")
    expect(plot).to_have_attribute("data-rates", "21")
    plot.focus()
    demo.page.keyboard.press("ArrowRight")  # the scanned rate nearest the one in use, 0.1
    expect(plot).to_have_attribute("data-chosen", re.compile(r"^0\.1\d*$"))
    demo.page.keyboard.press("ArrowRight")
    demo.page.keyboard.press("ArrowRight")
    chosen = float(plot.get_attribute("data-chosen"))
    assert chosen > 0.2
    expect(demo.tid("lr-readout")).to_contain_text("Enter uses it")
    demo.page.keyboard.press("Enter")
    rate = float(f"{chosen:.2g}")
    expect(plot).to_have_attribute("data-current", repr(rate))
    demo.settle()
    assert demo.step_count() == 0, "the arrow keys on the plot stepped the run"
