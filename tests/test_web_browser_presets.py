"""The page where it used to show approximate or overridden values: issue 10's defects 6 (the
landscape readout) and 1 (presets), in Chromium. Fixtures come from tests/test_web_browser.py.
"""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.test_web_api import problem
from tests.test_web_browser import (  # noqa: F401  (pytest fixtures, used by name)
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
def test_the_landscape_readout_is_the_exact_loss_at_the_hovered_point(demo, base_url, u, v):  # noqa: F811
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
