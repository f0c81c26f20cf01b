"""The demo page's UI defects of issue 10, in a real browser (see tests/test_web_browser.py).

Each defect's tests failed before its fix (a few more guard the fix's edges): an error banner
that never went away (defect 2), shortcuts that died after a click on a slider or a checkbox
(defect 3), a batch-size field that showed a size no request used (defect 5), a loss chart that
joined two datasets' losses (defect 8), landscape axis labels cut at the canvas edge, minus sign
first, and overlapping the axis title (defect 7).
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from tests import test_web_browser as shared
from tests.test_web_browser import Demo

# The shared fixtures, by name: the server, the browser, and a fresh page at the defaults.
base_url = shared.base_url
browser = shared.browser
demo = shared.demo

pytestmark = shared.pytestmark  # slow, and Chromium needed


def import_file(demo: Demo, name: str, content: bytes) -> None:
    demo.tid("tab-share").click()
    demo.tid("import-json").set_input_files(
        {"name": name, "mimeType": "application/json", "buffer": content}
    )


# ---------------------------------------------------------------- defect 2: the error banner

NOT_IMPORTABLE = [
    pytest.param(b"not json at all", id="not-json"),
    pytest.param(b"[1, 2, 3]", id="json-but-not-a-setup"),
]


@pytest.mark.parametrize("content", NOT_IMPORTABLE)
def test_an_error_banner_closes_from_the_keyboard(demo, content):
    import_file(demo, "notes.json", content)
    status = demo.tid("status")
    expect(status).to_contain_text("Could not import notes.json")
    close = status.get_by_role("button", name="Dismiss message")
    demo.tid("help").focus()  # the last control before the banner in the tab order
    demo.page.keyboard.press("Tab")
    expect(close).to_be_focused()
    demo.page.keyboard.press("Enter")
    expect(status).to_be_hidden()


def test_an_info_message_can_be_dismissed_too(demo):
    demo.tid("tab-share").click()
    demo.tid("share-link").click()
    status = demo.tid("status")
    expect(status).to_contain_text("ink")
    status.get_by_role("button", name="Dismiss message").click()
    expect(status).to_be_hidden()


def _step(demo: Demo) -> None:
    demo.tid("step").click()
    expect(demo.tid("step-count")).to_have_text("step 1")


def _change_loss(demo: Demo) -> None:
    demo.tid("loss-softmax").click()
    expect(demo.tid("total-loss")).to_have_text("5.34")


def _add_point(demo: Demo) -> None:
    demo.page.mouse.click(*demo.canvas_point("data-canvas", -0.8, -0.9))
    expect(demo.tid("data-canvas")).to_have_attribute("data-points", "10")


@pytest.mark.parametrize("action", [_step, _change_loss, _add_point], ids=lambda a: a.__name__)
def test_an_error_banner_goes_once_the_next_action_succeeds(demo, action):
    import_file(demo, "notes.json", b"not json at all")
    status = demo.tid("status")
    expect(status).to_contain_text("Could not import notes.json")
    action(demo)
    demo.settle()
    expect(status).to_be_hidden()


def test_an_answer_to_an_earlier_request_leaves_a_newer_error(demo):
    held = []
    demo.page.route("**/api/step", lambda route: held.append(route))
    demo.tid("step").click()  # its answer is held until after the import fails
    import_file(demo, "notes.json", b"not json at all")
    status = demo.tid("status")
    expect(status).to_contain_text("Could not import notes.json")
    assert len(held) == 1, "the step request should be waiting"
    held[0].continue_()
    expect(demo.tid("step-count")).to_have_text("step 1")
    demo.settle()
    expect(status).to_contain_text("Could not import notes.json")
    demo.page.unroute("**/api/step")


# ---------------------------------------------------------------- defect 3: shortcuts

TOUCHED = ["step-size-slider", "reg-slider", "timeline", "minibatch", "chart-log", "reduce-motion"]


@pytest.mark.parametrize("control", TOUCHED)
def test_shortcuts_work_after_touching_a_slider_or_checkbox(demo, control):
    page = demo.page
    if control == "reduce-motion":
        demo.tid("tab-share").click()
    widget = demo.tid(control)
    widget.focus()
    expect(widget).to_be_focused()
    is_checkbox = widget.get_attribute("type") == "checkbox"
    checked = widget.is_checked() if is_checkbox else None
    shared.step_back_and_run_by_keyboard(demo)
    page.keyboard.press("Space")
    demo.settle()
    page.keyboard.press("r")
    expect(demo.tid("step-count")).to_have_text("step 0")
    if is_checkbox:
        assert widget.is_checked() == checked, "Space must run, not toggle the checkbox"
    page.keyboard.press("2")
    expect(demo.tid("class-1")).to_have_attribute("aria-checked", "true")


def test_arrow_keys_still_move_a_focused_slider(demo):
    slider = demo.tid("reg-slider")
    slider.focus()
    before = slider.input_value()
    demo.page.keyboard.press("ArrowRight")
    expect(slider).not_to_have_value(before)
    demo.settle()
    expect(demo.tid("step-count")).to_have_text("step 0")


@pytest.mark.parametrize("field", ["batch-size", "batch-seed"])
def test_shortcuts_stay_off_while_typing_in_a_number_field(demo, field):
    demo.tid("minibatch").check()
    box = demo.page.locator(f"#{field}")
    box.fill("")
    box.focus()
    demo.page.keyboard.type("2")
    expect(box).to_have_value("2")
    expect(demo.tid("class-0")).to_have_attribute("aria-checked", "true")
    expect(demo.tid("class-1")).to_have_attribute("aria-checked", "false")


# ---------------------------------------------------------------- defect 5: the batch size

BATCH_SIZES = [("0", "1"), ("-3", "1"), ("", "1"), ("2.6", "3"), ("9999", "9"), ("4", "4")]


@pytest.mark.parametrize(("typed", "used"), BATCH_SIZES)
def test_the_batch_size_field_shows_the_size_in_use(demo, typed, used):
    demo.tid("minibatch").check()
    field = demo.tid("batch-size")
    field.fill(typed)
    field.press("Tab")
    expect(field).to_have_value(used)
    demo.settle()
    in_batch = demo.page.locator(".points-table tr.in-batch")
    expect(in_batch).to_have_count(int(used) if int(used) < 9 else 0)  # 9 of 9: full batch


@pytest.mark.parametrize(("typed", "used"), [("-5", "0"), ("1e12", "4294967295"), ("7.4", "7")])
def test_the_batch_seed_field_shows_the_seed_in_use(demo, typed, used):
    demo.tid("minibatch").check()
    field = demo.page.locator("#batch-seed")
    field.fill(typed)
    field.press("Tab")
    expect(field).to_have_value(used)
    demo.settle()
    expect(demo.tid("status")).to_be_hidden()


def test_deleting_points_shrinks_the_shown_batch_size(demo):
    demo.tid("minibatch").check()
    field = demo.tid("batch-size")
    field.fill("9")
    field.press("Tab")
    expect(field).to_have_value("9")
    demo.tid("data-canvas").focus()
    demo.page.keyboard.press("n")
    demo.page.keyboard.press("Delete")
    expect(demo.tid("data-canvas")).to_have_attribute("data-points", "8")
    expect(field).to_have_value("8")


# ---------------------------------------------------------------- defect 8: the loss chart


def steps(demo: Demo, count: int) -> None:
    for _ in range(count):
        before = demo.step_count()
        demo.tid("step").click()
        expect(demo.tid("step-count")).to_have_text(re.compile(rf"step {before + 1}\b"))
    demo.settle()


def _add(demo: Demo) -> None:
    demo.page.mouse.click(*demo.canvas_point("data-canvas", -0.8, -0.9))
    expect(demo.tid("data-canvas")).to_have_attribute("data-points", "10")


def _drag(demo: Demo) -> None:
    page = demo.page
    page.mouse.move(*demo.canvas_point("data-canvas", 0.5, 0.4))
    page.mouse.down()
    page.mouse.move(*demo.canvas_point("data-canvas", 0.2, 0.1), steps=3)
    page.mouse.up()


def _delete(demo: Demo) -> None:
    demo.tid("data-canvas").focus()
    demo.page.keyboard.press("n")
    demo.page.keyboard.press("Delete")
    expect(demo.tid("data-canvas")).to_have_attribute("data-points", "8")


def _relabel(demo: Demo) -> None:
    demo.tid("data-canvas").focus()
    demo.page.keyboard.press("n")
    demo.page.keyboard.press("3")
    expect(demo.tid("point-row-0").locator("td").nth(3)).to_have_text(" 2")


@pytest.mark.parametrize("edit", [_add, _drag, _delete, _relabel], ids=lambda e: e.__name__)
def test_editing_points_starts_a_new_loss_curve(demo, edit):
    chart = demo.tid("loss-chart")
    steps(demo, 3)
    expect(chart).to_have_attribute("data-segments", "4")
    edit(demo)
    demo.settle()  # step 3 now reads the new data's losses, steps 0-2 the old data's
    expect(chart).to_have_attribute("data-segments", "3,1")
    steps(demo, 2)
    expect(chart).to_have_attribute("data-segments", "3,3")


def test_editing_points_in_the_past_splits_the_curve_on_both_sides(demo):
    chart = demo.tid("loss-chart")
    steps(demo, 3)
    demo.tid("back").click()
    demo.tid("back").click()
    expect(demo.tid("step-count")).to_have_text("step 1 / 3")
    _add(demo)
    demo.settle()
    expect(chart).to_have_attribute("data-segments", "1,1,2")
    steps(demo, 1)  # stepping from the past replaces the old future
    expect(chart).to_have_attribute("data-segments", "1,2")


def test_minibatch_settings_keep_one_curve(demo):
    chart = demo.tid("loss-chart")
    steps(demo, 2)
    demo.tid("minibatch").check()
    demo.settle()
    steps(demo, 1)
    expect(chart).to_have_attribute("data-segments", "4")


# ---------------------------------------------------------------- defect 7: landscape labels

# Records every text the landscape canvas draws, with where its ink lies along x.
RECORD_LANDSCAPE_TEXT = """
window.landscapeTexts = [];
const fillText = CanvasRenderingContext2D.prototype.fillText;
CanvasRenderingContext2D.prototype.fillText = function (text, x, y, ...rest) {
  if (this.canvas.id === "landscape") {
    const m = this.getTransform();
    const box = this.measureText(text);
    const ratio = window.devicePixelRatio || 1;
    window.landscapeTexts.push({
      text: String(text), rotated: m.b !== 0,
      left: (m.a * (x - box.actualBoundingBoxLeft) + m.c * y + m.e) / ratio,
      right: m.b !== 0 ? (m.e + m.c * box.actualBoundingBoxDescent) / ratio
        : (m.a * (x + box.actualBoundingBoxRight) + m.c * y + m.e) / ratio,
    });
  }
  return fillText.call(this, text, x, y, ...rest);
};
"""


def setup_with(w10: float) -> bytes:
    setup = {"format": "slopelab-demo", "version": 1, "loss": "svm", "reg": 0.1,
             "data": {"X": [[0.5, 0.4], [-0.3, 0.2]], "y": [0, 1], "num_classes": 3},
             "params": {"W": [[1, 2, 3], [w10, -4, -1]], "b": [0, 0.5, -0.5]},
             "optimizer": {"name": "sgd", "learning_rate": 0.1}}  # fmt: skip
    return json.dumps(setup).encode()


@pytest.mark.parametrize(
    ("w10", "tick"), [(-1997.0, "−1997.0"), (-123456.0, "−123456.0"), (2.0, "2.0")]
)
def test_landscape_axis_labels_keep_their_sign_clear_of_the_title(demo, w10, tick):
    demo.page.add_init_script(RECORD_LANDSCAPE_TEXT)
    demo.page.reload()
    expect(demo.page.locator("body")).to_have_attribute("data-ready", "true")
    import_file(demo, "big.json", setup_with(w10))
    expect(demo.tid("status")).to_contain_text("Loaded big.json")
    demo.settle()
    expect(demo.tid("landscape-readout")).to_contain_text("total loss from")
    demo.page.wait_for_function(f"window.landscapeTexts.some((t) => t.text === {json.dumps(tick)})")
    texts = demo.page.evaluate("window.landscapeTexts")
    title_right = max(t["right"] for t in texts if t["rotated"])
    plot_left = int(demo.tid("landscape").get_attribute("data-plot").split(",")[0])
    labels = [t for t in texts if not t["rotated"] and t["right"] <= plot_left]
    assert tick in {t["text"] for t in labels}
    for label in labels:
        assert label["left"] >= 0, f"{label['text']} is cut at the canvas edge"
        assert label["left"] > title_right, f"{label['text']} overlaps the axis title"
