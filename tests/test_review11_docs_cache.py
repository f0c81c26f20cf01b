"""The docs site executes the notebooks against the code as it is (review of issue 11).

mkdocs-jupyter caches each executed notebook under a key made of the notebook's bytes and its
own options, not of slopelab's code: with the cache on, ``mkdocs build --strict`` after a change
to slopelab rendered the previous outputs (numbers the code no longer gives) and passed on a
notebook that now raises.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import mkdocs_jupyter.plugin
import yaml

ROOT = Path(__file__).resolve().parents[1]


def jupyter_options() -> dict:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    for plugin in config["plugins"]:
        if isinstance(plugin, dict) and "mkdocs-jupyter" in plugin:
            return plugin["mkdocs-jupyter"]
    raise AssertionError("mkdocs.yml has no mkdocs-jupyter plugin")


def test_the_cache_key_ignores_the_code_so_the_cache_is_off():
    key_source = inspect.getsource(mkdocs_jupyter.plugin._compute_cache_key)
    assert "read_bytes()" in key_source and "slopelab" not in key_source
    options = jupyter_options()
    assert options["execute"] is True
    assert options.get("cache") is False
    assert options.get("allow_errors") is False
