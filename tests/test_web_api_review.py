"""A fresh student's pass over the finished issue 10 API: combinations the helpers built
separately (a held-out split with "copy as Python")."""

# ruff: noqa: F811  (the client fixture imported from test_web_api is a parameter here by name)
from __future__ import annotations

import re
import subprocess
import sys

from tests.test_web_api import client, post, problem  # noqa: F401

MASK = [False, True, False, False, False, True, False, True, False]  # points 1, 5 and 7 held out


def test_the_python_export_says_which_points_it_leaves_out(client):
    """With a split the script trains on the train points only, as the page does: it must say
    so (and which points), or a student counting the page's 9 points finds 6 and no reason."""
    body = problem(optimizer={"name": "sgd", "learning_rate": 0.1}, num_steps=2)
    body["data"]["test"] = MASK
    code = post(client, "/api/python", body)["code"]
    assert "held out 3 more points as test points (numbers 1, 5, 7)" in code
    assert "trains on the other 6 only" in code
    assert "on 6 points" in code


def test_without_a_split_the_export_mentions_no_test_points(client):
    body = problem(optimizer={"name": "sgd", "learning_rate": 0.1}, num_steps=2)
    code = post(client, "/api/python", body)["code"]
    assert "held out" not in code


def test_the_exported_script_with_a_split_still_replays_the_page(client):
    """The note changes no number: the script's final total is the one /api/step reports."""
    body = problem(optimizer={"name": "sgd", "learning_rate": 0.1})
    body["data"]["test"] = MASK
    step = post(client, "/api/step", {**body, "num_steps": 3})["records"][-1]
    code = post(client, "/api/python", {**body, "num_steps": 3})["code"]
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert re.search(rf"after 3 steps: .*total {step['total']:.4f}\n", result.stdout), result.stdout
