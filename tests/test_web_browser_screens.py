"""docs/demo-panels.png, the README's second screenshot: what issue 10 added, on one page —
XOR with the x0*x1 feature, 30% of the points held out, and the Explain tab on a point.
Rewritten with SLOPELAB_UPDATE_SCREENSHOT=1; always saved under test-artifacts/."""

# ruff: noqa: F811  (the fixtures imported from test_web_browser are parameters here by name)
from __future__ import annotations

import os
import re

from playwright.sync_api import expect

from tests.test_web_browser import (  # noqa: F401  (pytest fixtures and the slow marker)
    ROOT,
    base_url,
    browser,
    open_demo,
    pytestmark,
)
from tests.test_web_browser_features import load_xor, run_until


def test_readme_panels_screenshot(browser, base_url):
    context, demo = open_demo(browser, base_url, viewport={"width": 1280, "height": 1500})
    try:
        load_xor(demo, 6)
        demo.tid("feature-x0*x1").check()
        expect(demo.tid("step-count")).to_have_text("step 0")
        demo.settle()
        demo.tid("tab-data").click()
        demo.tid("test-fraction").select_option("0.3")
        expect(demo.tid("legend-test")).to_be_visible()
        demo.settle()
        run_until(demo, r"^step (1\d\d|[2-9]\d\d)")
        expect(demo.tid("test-accuracy")).to_have_text(re.compile(r"^\d+%$"))
        demo.tid("tab-explain").click()
        demo.tid("explain-next").click()
        expect(demo.tid("explain-body")).to_contain_text("L")
        demo.settle()
        demo.page.mouse.move(4, 1495)
        demo.page.evaluate("document.activeElement.blur()")
        assert demo.errors == []
        demo.shoot("demo-panels")
        if os.environ.get("SLOPELAB_UPDATE_SCREENSHOT"):
            demo.page.screenshot(path=ROOT / "docs" / "demo-panels.png")
    finally:
        context.close()


def test_the_explain_score_formula_names_every_row_of_w(browser, base_url):
    """With features, s_j sums over every row of W, and the panel's formula says so."""
    context, demo = open_demo(browser, base_url)
    try:
        demo.tid("feature-x0^2").check()
        demo.tid("feature-x0*x1").check()
        expect(demo.tid("step-count")).to_have_text("step 0")
        demo.settle()
        demo.tid("tab-explain").click()
        demo.tid("explain-next").click()
        expect(demo.tid("explain-score-formula")).to_have_text(
            "sj = x₀·W[0,j] + x₁·W[1,j] + x₀²·W[2,j] + x₀x₁·W[3,j] + bj"
        )
        expect(demo.tid("share-W[3,0]")).to_be_visible()
        assert demo.errors == []
    finally:
        context.close()
