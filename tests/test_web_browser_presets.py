"""The page where it used to show approximate or overridden values: issue 10's defects 6 (the
landscape readout) and 1 (presets), in Chromium. Fixtures come from tests/test_web_browser.py.
"""

# ruff: noqa: F811  (the fixtures imported from test_web_browser are parameters here by name)
from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.test_web_api import problem
from tests.test_web_browser import (  # noqa: F401  (pytest fixtures and the slow marker)
    Demo,
    base_url,
    browser,
    demo,
    pytestmark,
)


def hover_landscape(on: Demo, u: float, v: float) -> None:
    """Move the mouse to fraction (u, v) of the landscape's plot, from its top left."""
    landscape = on.tid("landscape")
    expect(landscape).to_have_attribute("data-plot", re.compile(r"\d+,\d+,\d+,\d+"))
    left, top, width, height = map(int, landscape.get_attribute("data-plot").split(","))
    box = landscape.bounding_box()
    on.page.mouse.move(box["x"] + left + u * width, box["y"] + top + v * height)


@pytest.mark.parametrize(("u", "v"), [(0.613, 0.287), (0.25, 0.25), (0.9, 0.55)])
def test_the_landscape_readout_is_the_exact_loss_at_the_hovered_point(demo, base_url, u, v):
    expect(demo.tid("landscape-readout")).to_contain_text("total loss from")
    hover_landscape(demo, u, v)
    readout = demo.tid("landscape-readout")
    expect(readout).to_have_attribute("data-exact", "true")
    first, second = (
        float(readout.get_attribute("data-first")),
        float(readout.get_attribute("data-second")),
    )
    params = problem()["params"]
    params["W"][0][0], params["W"][1][0] = first, second  # the default axes
    expected = httpx.post(f"{base_url}/api/evaluate", json=problem(params=params)).json()
    shown = re.search(r"total loss (\S+)$", readout.inner_text()).group(1)
    assert float(shown.replace("−", "-")) == pytest.approx(expected["total"], abs=0.0005)
    assert "≈" not in readout.inner_text()
    demo.page.mouse.move(1, 1)  # leaving the plot brings back the range
    expect(readout).to_contain_text("total loss from")


def loaded_dataset(demo: Demo) -> tuple[dict, dict]:
    """Click Load; the /api/dataset request the page sent and the data it got back."""
    with demo.page.expect_response("**/api/dataset") as answer:
        demo.tid("preset-apply").click()
    demo.settle()
    return answer.value.request.post_data_json, answer.value.json()


def test_each_preset_loads_with_its_own_noise_unless_the_slider_moved(demo, base_url):
    own = httpx.get(f"{base_url}/api/defaults").json()["preset_noise"]
    demo.tid("tab-data").click()
    demo.tid("preset-classes").select_option("2")
    loaded = {}
    for preset in ("blobs", "not-separable", "xor"):
        demo.tid("preset").select_option(preset)
        expect(demo.page.locator("#preset-noise-value")).to_have_text(f"{own[preset]:.2f}")
        sent, loaded[preset] = loaded_dataset(demo)
        assert sent["noise"] == own[preset]
        expect(demo.tid("data-canvas")).to_have_attribute("data-points", "60")
    assert loaded["not-separable"]["X"] != loaded["blobs"]["X"]
    demo.page.locator("#preset-noise").fill("0.2")  # the learner's own choice wins
    expect(demo.page.locator("#preset-noise-value")).to_have_text("0.20")
    sent, _ = loaded_dataset(demo)
    assert (sent["preset"], sent["noise"]) == ("xor", 0.2)


def test_xor_with_three_classes_shows_three_classes(demo):
    demo.tid("tab-data").click()
    demo.tid("preset").select_option("xor")
    demo.tid("preset-classes").select_option("3")
    _, data = loaded_dataset(demo)
    assert sorted(set(data["y"])) == [0, 1, 2]
    expect(demo.tid("class-2")).to_be_visible()
