"""Progress bars: tqdm.auto's (a widget in a notebook, the text bar elsewhere), shown on a
terminal or in a notebook, never in a pipe or a log file."""

from __future__ import annotations

import fcntl
import importlib
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import types

import pytest
import tqdm.auto  # imported before a test fakes a kernel: the fake must not reach tqdm's choice
import tqdm.std

from slopelab import progress
from slopelab.commands.console import Console

download_module = importlib.import_module("slopelab.data.download")


def fake_ipython(monkeypatch, config: dict) -> None:
    shell = types.SimpleNamespace(config=config)
    module = types.SimpleNamespace(get_ipython=lambda: shell)
    monkeypatch.setitem(sys.modules, "IPython", module)


def test_outside_a_notebook_the_bar_is_tqdms_text_bar():
    bar = progress.progress_bar(total=3, disable=True)
    assert isinstance(bar, tqdm.std.tqdm) and isinstance(bar, tqdm.auto.tqdm)
    assert not progress.in_notebook()


def test_a_jupyter_kernel_counts_as_a_notebook_a_terminal_ipython_does_not(monkeypatch):
    fake_ipython(monkeypatch, {"TerminalInteractiveShell": {}})
    assert not progress.in_notebook() and not progress.shows_progress()
    fake_ipython(monkeypatch, {"IPKernelApp": {}})
    assert progress.in_notebook() and progress.shows_progress()
    assert Console(json_mode=False).progress_enabled
    assert not Console(json_mode=False, progress=False).progress_enabled


@pytest.mark.parametrize(("kernel", "shown"), [(True, True), (False, False)])
def test_a_download_shows_its_bar_in_a_notebook_by_default(monkeypatch, tmp_path, kernel, shown):
    if kernel:
        fake_ipython(monkeypatch, {"IPKernelApp": {}})
    asked = []
    monkeypatch.setattr(
        download_module, "fetch_file", lambda *args, progress, **rest: asked.append(progress)
    )
    download_module.download("mnist", tmp_path)
    assert asked and set(asked) == {shown}


BAR = """
from slopelab.commands.console import Console
with Console(json_mode=False).bar(3, "work") as bar:
    for _ in range(3):
        bar.update()
"""


def run_bar(stderr_is_terminal: bool) -> str:
    """What the CLI's bar writes to stderr, a terminal (a pseudo-terminal) or a pipe."""
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    if not stderr_is_terminal:
        result = subprocess.run(
            [sys.executable, "-c", BAR], capture_output=True, env=environment, check=True
        )
        return result.stderr.decode()
    leader, follower = pty.openpty()
    size = struct.pack(
        "HHHH", 24, 80, 0, 0
    )  # rows, columns: a new pty is 0 wide, tqdm draws nothing
    fcntl.ioctl(follower, termios.TIOCSWINSZ, size)
    with subprocess.Popen(
        [sys.executable, "-c", BAR], stderr=follower, stdout=subprocess.DEVNULL, env=environment
    ) as child:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the child closed its end
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert child.wait() == 0
    os.close(leader)
    return b"".join(chunks).decode()


def test_the_cli_bar_draws_on_a_terminal_and_stays_silent_in_a_pipe():
    """As before tqdm.auto: the bar is drawn at once, then wiped (``leave=False``)."""
    drawn = run_bar(stderr_is_terminal=True)
    assert re.match(r"\rwork: +0%\|[ ]+\| 0/3 \[", drawn)
    assert re.search(r"\r {70,}\r$", drawn)
    assert run_bar(stderr_is_terminal=False) == ""
