"""What pooch would change in ``slopelab data download``: pooch against the download tests' server.

Not part of slopelab (pooch is not a dependency): the measurements behind the README's choice
to keep slopelab's own download code. Needs ``pip install pooch``. For each way the local
server answers (tests/test_data_download.py's ``Server``: "lie" is a wrong body, "cut" half of
it), it prints how many requests the server saw, the seconds pooch waited, what is left in the
folder, the file's mode under umask 022, and the exception.

    python benchmarks/probe_pooch.py
"""

from __future__ import annotations

import hashlib
import os
import stat
import sys
import tempfile
import time
from pathlib import Path

import pooch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_data_download import FILES, Server

RETRIES = 2
PLANS = {"ok": [], "lie": ["lie"] * 3, "404": ["404"] * 3, "503": ["503"], "cut": ["cut"]}


def probe(name: str, plan: list[str]) -> str:
    with Server() as server, tempfile.TemporaryDirectory() as folder:
        server.plan["/official/first.gz"] = list(plan)
        known = "sha256:" + hashlib.sha256(FILES["first.gz"]).hexdigest()
        fetcher = pooch.create(
            path=folder,
            base_url=f"{server.url}/official/",
            registry={"first.gz": known},
            retry_if_failed=RETRIES,
        )
        started = time.perf_counter()
        try:
            path = fetcher.fetch("first.gz")
            result = f"ok, mode {oct(stat.S_IMODE(os.stat(path).st_mode))}"
        except Exception as error:
            result = f"{type(error).__module__}.{type(error).__name__}: {str(error)[:70]}"
        seconds = time.perf_counter() - started
        left = sorted(os.listdir(folder))
        requests = server.requests["/official/first.gz"]
    return f"| {name} | {requests} | {seconds:.1f} s | {left} | {result} |"


def main() -> None:
    os.environ["no_proxy"] = "127.0.0.1"
    os.umask(0o022)
    print(f"pooch {pooch.__version__}, retry_if_failed={RETRIES}, umask 022\n")
    print("| server answers | requests | time | left in the folder | result |")
    print("|---|---|---|---|---|")
    for name, plan in PLANS.items():
        print(probe(name, plan))


if __name__ == "__main__":
    main()
