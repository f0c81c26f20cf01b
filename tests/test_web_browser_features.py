"""Features and regularization conventions in the browser: the checkboxes, the W/b table with
the feature rows and its two layouts, the landscape axes, the legend, and the round trips
(share link, JSON export and import, Python export). The numbers come from the server, whose
answers tests/test_web_api_features.py checks against slopelab.
"""

# ruff: noqa: F811  (the fixtures imported from test_web_browser are parameters here by name)
from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from tests.test_web_browser import (  # noqa: F401  (pytest fixtures and the slow marker)
    Demo,
    base_url,
    browser,
    demo,
    open_demo,
    pytestmark,
)


def load_xor(demo: Demo, seed: int) -> None:
    demo.tid("tab-data").click()
    demo.tid("preset").select_option("xor")
    demo.tid("preset-classes").select_option("2")
    demo.page.locator("#preset-seed").fill(str(seed))
    demo.tid("preset-apply").click()
    expect(demo.tid("data-canvas")).to_have_attribute("data-points", "60")
    demo.settle()


def run_until(demo: Demo, pattern: str) -> None:
    """Run at 300 updates per second until the step counter matches ``pattern``, then stop."""
    demo.tid("speed").select_option("300")
    demo.tid("run").click()
    expect(demo.tid("step-count")).to_have_text(re.compile(pattern), timeout=30_000)
    demo.tid("run").click()
    demo.settle()


def test_xor_needs_the_product_feature(demo):
    """Seed 6 of the XOR preset: SVM, step 0.1, reg 0.1 never pass 68% in x alone; with x0*x1
    the same settings reach 100% (first at step 71 in slopelab)."""
    load_xor(demo, 6)
    run_until(demo, r"^step ([2-9]\d\d|\d{4,})")
    shown = float(demo.tid("accuracy").inner_text().rstrip("%"))
    assert shown < 80, "a linear classifier in x cannot fit XOR"
    demo.tid("feature-x0*x1").check()
    expect(demo.tid("step-count")).to_have_text("step 0")  # a new run: W has a new shape
    expect(demo.tid("value-W-2-0")).to_have_text("0.00")
    demo.settle()
    run_until(demo, r"^step ([2-9]\d\d|\d{4,})")
    expect(demo.tid("accuracy")).to_have_text("100%")


def test_feature_rows_axes_and_legend_follow_the_features(demo):
    expect(demo.page.locator(".legend-features")).to_be_hidden()
    expect(demo.page.locator(".legend-straight")).to_be_visible()
    demo.tid("feature-x0^2").check()
    demo.tid("feature-sin(x1)").check()
    demo.settle()
    expect(demo.tid("value-W-3-2")).to_have_text("0.00")  # the default W and zero feature rows
    expect(demo.tid("value-W-0-1")).to_have_text("2.00")
    expect(demo.page.locator("#param-head")).to_contain_text("x₀²")
    expect(demo.page.locator("#param-head")).to_contain_text("sin x₁")
    expect(demo.tid("param-layout-note")).to_contain_text("C × D = 3 × 4, one row per class")
    expect(demo.page.locator(".legend-features")).to_be_visible()
    expect(demo.page.locator(".legend-straight")).to_be_hidden()
    options = demo.page.locator("#axis-first option").all_inner_texts()
    assert {"W[2,0]", "W[3,2]"} <= set(options)
    demo.page.locator("#axis-first").select_option("W[3,1]")
    expect(demo.tid("landscape")).to_be_visible()
    demo.settle()
    # the features' gradient is the server's, and a step moves the feature rows
    demo.tid("step").click()
    expect(demo.tid("step-count")).to_have_text("step 1")
    demo.settle()
    assert demo.tid("value-W-2-0").inner_text() != "0.00"
    demo.tid("feature-x0^2").uncheck()
    demo.tid("feature-sin(x1)").uncheck()
    demo.settle()
    expect(demo.tid("value-W-2-0")).to_have_count(0)
    expect(demo.tid("total-loss")).to_have_text("6.27")
    expect(demo.page.locator(".legend-straight")).to_be_visible()


def test_the_conventions_change_the_loss_the_formula_and_the_gradient(demo):
    expect(demo.tid("reg-loss")).to_have_text("3.50")
    expect(demo.tid("grad-W-0-0")).to_have_text("−0.23")  # -0.43 data + 2 * 0.1 * 1
    demo.tid("convention-half").check()
    demo.settle()
    expect(demo.tid("reg-loss")).to_have_text("1.75")
    expect(demo.tid("total-loss")).to_have_text("4.52")
    expect(demo.tid("loss-formula")).to_contain_text("½·λ ΣW²")
    expect(demo.page.locator("#reg-grad-formula")).to_have_text("λW")
    expect(demo.tid("grad-W-0-0")).to_have_text("−0.33")  # -0.43 data + 0.1 * 1
    demo.tid("convention-bias").check()
    demo.settle()
    expect(demo.tid("total-loss")).to_have_text("4.54")  # 2.77 + 0.05 * (35 + 0.5)
    expect(demo.tid("grad-b-1")).to_have_text("−0.06")  # -0.11 data + 0.1 * 0.5
    expect(demo.tid("grad-b-2")).to_have_text("−0.05")  # 0 data + 0.1 * (-0.5)
    expect(demo.tid("loss-formula")).to_contain_text("½·λ (ΣW² + Σb²)")


def test_w_shown_per_class_or_as_the_api_stores_it(demo):
    expect(demo.tid("param-layout-note")).to_contain_text("as the lecture writes it: C × D = 3 × 2")
    expect(demo.page.locator("#param-body tr")).to_have_count(3)
    demo.tid("param-lecture").uncheck()
    expect(demo.tid("param-layout-note")).to_contain_text("as the API stores it: D × C = 2 × 3")
    expect(demo.page.locator("#param-body tr")).to_have_count(3)  # x0, x1 and b
    expect(demo.page.locator("#param-body tr").nth(0)).to_contain_text("W[0,·]")
    expect(demo.tid("value-W-1-1")).to_have_text("−4.00")
    demo.tid("nudge-up-W-1-1").click()
    expect(demo.tid("value-W-1-1")).to_have_text("−3.90")
    demo.tid("param-lecture").check()
    expect(demo.tid("value-W-1-1")).to_have_text("−3.90")
    expect(demo.page.locator("#param-body tr").nth(1)).to_contain_text("−3.90")


def choose_features_and_conventions(demo: Demo) -> str:
    demo.tid("feature-x0*x1").check()
    demo.settle()
    demo.tid("nudge-up-W-2-1").click()
    demo.tid("convention-bias").check()
    demo.settle()
    expect(demo.tid("value-W-2-1")).to_have_text("0.10")
    return demo.tid("total-loss").inner_text()


def expect_restored(reopened: Demo, total: str) -> None:
    expect(reopened.tid("total-loss")).to_have_text(total)
    expect(reopened.tid("value-W-2-1")).to_have_text("0.10")
    expect(reopened.tid("feature-x0*x1")).to_be_checked()
    expect(reopened.tid("feature-x0^2")).not_to_be_checked()
    expect(reopened.tid("convention-bias")).to_be_checked()
    expect(reopened.tid("convention-half")).not_to_be_checked()


def test_share_link_and_json_keep_features_and_conventions(demo, browser, base_url, tmp_path):
    total = choose_features_and_conventions(demo)
    demo.tid("tab-share").click()
    demo.tid("share-link").click()
    expect(demo.tid("status")).to_contain_text("ink")
    context, reopened = open_demo(browser, demo.page.url)
    try:
        expect_restored(reopened, total)
    finally:
        context.close()
    assert reopened.errors == []
    with demo.page.expect_download() as download:
        demo.tid("export-json").click()
    exported = json.loads(download.value.path().read_text())
    assert exported["features"] == ["x0*x1"]
    assert exported["conventions"] == {"half_l2": False, "regularize_bias": True}
    context, fresh = open_demo(browser, f"{base_url}/")
    try:
        expect(fresh.tid("total-loss")).to_have_text("6.27")
        fresh.tid("tab-share").click()
        fresh.tid("import-json").set_input_files(download.value.path())
        expect_restored(fresh, total)
    finally:
        context.close()
    assert fresh.errors == []


def test_copy_as_python_builds_the_features_and_the_penalty(demo):
    choose_features_and_conventions(demo)
    demo.tid("step").click()
    expect(demo.tid("step-count")).to_have_text("step 1")
    demo.tid("tab-share").click()
    demo.tid("copy-python").click()
    code = demo.tid("python-code")
    expect(code).to_be_visible()
    expect(code).to_have_value(re.compile(r"X = np\.column_stack\(\[X, x0 \* x1\]\)"))
    expect(code).to_have_value(re.compile(r"loss \+= strength \* np\.vdot\(b, b\)"))


def test_phone_width_keeps_the_feature_controls_usable(browser, base_url):
    context, demo = open_demo(browser, f"{base_url}/", viewport={"width": 390, "height": 844})
    try:
        expect(demo.tid("total-loss")).to_have_text("6.27")
        for name in ("x0^2", "x1^2", "x0*x1", "sin(x0)", "sin(x1)"):
            box = demo.tid(f"feature-{name}").bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, name
        demo.tid("feature-x0^2").check()
        demo.tid("feature-x0*x1").check()
        demo.tid("convention-half").check()
        demo.settle()
        expect(demo.tid("value-W-3-2")).to_be_attached()
        # one row per class is 5 cells wide: the table scrolls in its box, with a hint
        expect(demo.tid("param-scroll-hint")).to_be_visible()
        widths = demo.page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        assert widths[0] <= widths[1]
        demo.tid("param-lecture").uncheck()  # one row per input: 3 class columns fit
        expect(demo.tid("param-scroll-hint")).to_be_hidden()
        box = demo.tid("value-W-3-2").bounding_box()
        assert box is not None and box["x"] + box["width"] <= 390
        widths = demo.page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        assert widths[0] <= widths[1]
        demo.shoot("features-narrow")
    finally:
        context.close()
    assert demo.errors == []
