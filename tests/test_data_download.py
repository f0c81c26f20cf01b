"""Downloads against a local HTTP server: verified, retried, atomic. Never the internet."""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import gzip
import hashlib
import importlib
import os
import re
import socket
import stat
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from slopelab.cli import main
from slopelab.data import DATASETS, DataError, RemoteFile, download, load_dataset, locations

# The package exports the function download(), which hides the submodule of the same name.
download_module = importlib.import_module("slopelab.data.download")

FILES = {"first.gz": b"first file " * 1000, "second.gz": b"second file " * 3000}


class Server:
    """Serves ``files`` under /official/ and /mirror/; ``plan[path]`` lists how to answer the
    next requests: "ok", "cut" (half the body, then close), "404", "503" or "lie" (wrong body)."""

    def __init__(self) -> None:
        self.files = dict(FILES)
        self.plan: dict[str, list[str]] = {}
        self.requests: Counter[str] = Counter()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests[self.path] += 1
                steps = server.plan.get(self.path, [])
                action = steps.pop(0) if steps else "ok"
                name = self.path.rsplit("/", 1)[-1]
                if action in ("404", "503") or name not in server.files:
                    self.send_error(404 if action != "503" else 503)
                    return
                body = server.files[name]
                if action == "lie":
                    body = body[::-1]
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if action == "cut" else body)
                self.close_connection = True

            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def server(monkeypatch):
    for variable in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setattr(download_module, "BACKOFF_SECONDS", 0.0)
    with Server() as running:
        remote = tuple(
            RemoteFile(name, f"{running.url}/official/{name}", hashlib.sha256(body).hexdigest())
            for name, body in FILES.items()
        )
        # Every URL in the registry entry points at this machine: a test can never go online.
        info = dataclasses.replace(DATASETS["mnist"], downloads=remote)
        monkeypatch.setitem(DATASETS, "mnist", info)
        yield running


def _listing(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def test_download_verifies_and_places_every_file(server, tmp_path):
    folder = download("mnist", tmp_path, progress=False)
    assert folder == tmp_path / "mnist"
    assert _listing(folder) == ["first.gz", "second.gz"]
    for name, body in FILES.items():
        assert (folder / name).read_bytes() == body
    assert server.requests == {"/official/first.gz": 1, "/official/second.gz": 1}


def test_verified_files_are_not_fetched_again_but_corrupt_ones_are(server, tmp_path):
    download("mnist", tmp_path, progress=False)
    download("mnist", tmp_path, progress=False)
    assert sum(server.requests.values()) == 2
    (tmp_path / "mnist" / "second.gz").write_bytes(b"damaged")
    download("mnist", tmp_path, progress=False)
    assert server.requests["/official/second.gz"] == 2
    assert (tmp_path / "mnist" / "second.gz").read_bytes() == FILES["second.gz"]


def test_checksum_mismatch_keeps_nothing(server, tmp_path):
    server.plan["/official/first.gz"] = ["lie"]
    with pytest.raises(DataError) as raised:
        download("mnist", tmp_path, progress=False)
    expected = hashlib.sha256(FILES["first.gz"]).hexdigest()
    actual = hashlib.sha256(FILES["first.gz"][::-1]).hexdigest()
    assert str(raised.value) == (
        f"checksum mismatch for {server.url}/official/first.gz: expected SHA-256 {expected}, "
        f"got {actual}; the download is corrupt or the file changed upstream, and nothing was "
        "kept; run the download again"
    )
    assert _listing(tmp_path / "mnist") == []


def test_interrupted_transfer_is_retried_then_succeeds(server, tmp_path):
    server.plan["/official/second.gz"] = ["cut", "cut"]
    download("mnist", tmp_path, progress=False, retries=2)
    assert server.requests["/official/second.gz"] == 3
    assert (tmp_path / "mnist" / "second.gz").read_bytes() == FILES["second.gz"]
    assert _listing(tmp_path / "mnist") == ["first.gz", "second.gz"]  # no .part files left


def test_transfers_that_keep_failing_give_up_cleanly(server, tmp_path):
    server.plan["/official/first.gz"] = ["cut"] * 5
    with pytest.raises(DataError) as raised:
        download("mnist", tmp_path, progress=False, retries=1)
    message = str(raised.value)
    assert message.startswith(f"could not download {server.url}/official/first.gz after 2 ")
    assert "(last: the transfer stopped after 5500 of 11000 bytes)" in message
    assert message.endswith(f"or put first.gz in {tmp_path / 'mnist'} by hand")
    assert server.requests["/official/first.gz"] == 2
    assert _listing(tmp_path / "mnist") == []


def test_server_errors_are_retried(server, tmp_path):
    server.plan["/official/first.gz"] = ["503"]
    download("mnist", tmp_path, progress=False)
    assert server.requests["/official/first.gz"] == 2


def test_not_found_is_reported_at_once(server, tmp_path):
    server.plan["/official/first.gz"] = ["404"]
    with pytest.raises(DataError) as raised:
        download("mnist", tmp_path, progress=False, retries=3)
    assert str(raised.value) == (
        f"could not download {server.url}/official/first.gz: the server answered HTTP 404 Not "
        "Found; check that the URL (or base_url) is right"
    )
    assert server.requests["/official/first.gz"] == 1
    assert _listing(tmp_path / "mnist") == []


def test_base_url_replaces_the_host(server, tmp_path):
    download("mnist", tmp_path, progress=False, base_url=f"{server.url}/mirror/")
    assert set(server.requests) == {"/mirror/first.gz", "/mirror/second.gz"}


def test_unreachable_host(server, tmp_path):
    with pytest.raises(DataError, match=r"could not download http://127\.0\.0\.1:1/first\.gz "
                       r"after 2 attempts \(last: .*refused"):  # fmt: skip
        download("mnist", tmp_path, progress=False, retries=1, base_url="http://127.0.0.1:1")


def test_progress_bar_only_when_asked_or_on_a_terminal(server, tmp_path, capsys):
    download("mnist", tmp_path / "quiet")  # stderr is captured, not a terminal: no bar
    assert capsys.readouterr().err == ""
    download("mnist", tmp_path / "loud", progress=True)
    err = capsys.readouterr().err
    assert "first.gz" in err and "second.gz" in err and "100%" in err


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("digits", r"^digits needs no download \(scikit-learn's 8x8 .*\); datasets to download: "
         r"cifar10, mnist, fashion-mnist$"),
        ("svhn", r"^unknown dataset 'svhn'; datasets to download: cifar10, mnist, fashion-mnist$"),
    ],
)  # fmt: skip
def test_names_without_downloads(tmp_path, name, message):
    with pytest.raises(DataError, match=message):
        download(name, tmp_path)


def test_download_then_load(server, tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    images = {"train": rng.integers(0, 256, (12, 3, 3), dtype=np.uint8),
              "t10k": rng.integers(0, 256, (4, 3, 3), dtype=np.uint8)}  # fmt: skip
    labels = {"train": np.arange(12, dtype=np.uint8) % 10, "t10k": np.arange(4, dtype=np.uint8)}
    for split in ("train", "t10k"):
        server.files[f"{split}-images-idx3-ubyte.gz"] = gzip.compress(
            bytes([0, 0, 8, 3]) + np.array(images[split].shape, ">u4").tobytes()
            + images[split].tobytes()
        )  # fmt: skip
        server.files[f"{split}-labels-idx1-ubyte.gz"] = gzip.compress(
            bytes([0, 0, 8, 1]) + np.array([len(labels[split])], ">u4").tobytes()
            + labels[split].tobytes()
        )  # fmt: skip
    remote = tuple(
        RemoteFile(name, f"{server.url}/official/{name}", hashlib.sha256(body).hexdigest())
        for name, body in server.files.items() if "idx" in name
    )  # fmt: skip
    monkeypatch.setitem(DATASETS, "mnist", dataclasses.replace(DATASETS["mnist"],
                                                               downloads=remote))  # fmt: skip
    monkeypatch.setitem(locations.SYSTEM_DIRS, "mnist", ())
    monkeypatch.setenv("SLOPELAB_DATA", str(tmp_path / "cache"))
    download("mnist", progress=False)
    dataset = load_dataset("mnist", num_val=2)
    assert dataset.source == str(tmp_path / "cache" / "mnist")
    np.testing.assert_array_equal(dataset.X_test, images["t10k"].reshape(4, -1))
    np.testing.assert_array_equal(dataset.y_val, labels["train"][-2:])


def closed_port_url() -> str:
    """A localhost URL where nothing listens: a port just bound, then released."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("depth", [1, 3])
def test_no_network_leaves_no_folder_behind(server, tmp_path, depth):
    """Every folder the download created (the dataset's and missing parents) goes again."""
    data_dir = tmp_path.joinpath(*[f"level{i}" for i in range(depth)])
    with pytest.raises(DataError, match=r"could not download .* after 2 attempts"):
        download("mnist", data_dir, progress=False, retries=1, base_url=closed_port_url())
    assert _listing(tmp_path) == []


def test_a_failed_download_keeps_folders_that_were_there(server, tmp_path):
    (tmp_path / "mnist").mkdir()
    with pytest.raises(DataError):
        download("mnist", tmp_path, progress=False, retries=0, base_url=closed_port_url())
    assert _listing(tmp_path) == ["mnist"] and _listing(tmp_path / "mnist") == []


def test_a_failed_download_keeps_the_files_already_verified(server, tmp_path):
    server.plan["/official/second.gz"] = ["404"]
    with pytest.raises(DataError, match="HTTP 404"):
        download("mnist", tmp_path / "new", progress=False)
    assert _listing(tmp_path / "new" / "mnist") == ["first.gz"]


def test_ctrl_c_during_a_download_leaves_no_folder_behind(server, tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(download_module, "_stream", interrupted)
    with pytest.raises(KeyboardInterrupt):
        download("mnist", tmp_path / "data", progress=False)
    assert _listing(tmp_path) == []


def test_cli_download_without_network_exits_2_and_leaves_nothing(
    server, tmp_path, capsys, monkeypatch
):
    remote = tuple(
        RemoteFile(name, f"{closed_port_url()}/{name}", hashlib.sha256(body).hexdigest())
        for name, body in FILES.items()
    )
    monkeypatch.setitem(DATASETS, "mnist", dataclasses.replace(DATASETS["mnist"], downloads=remote))
    code = main(["data", "download", "mnist", "--data-dir", str(tmp_path / "data")])
    err = capsys.readouterr().err
    assert code == 2
    assert re.fullmatch(
        r"slopelab data: error: could not download http://127\.0\.0\.1:\d+/first\.gz after 4 "
        r"attempts \(last: .*\); check your connection and run the download again, or put "
        rf"first\.gz in {re.escape(str(tmp_path / 'data' / 'mnist'))} by hand\n",
        err,
    )
    assert _listing(tmp_path) == []


@pytest.mark.parametrize("mask", [0o022, 0o027])
def test_downloaded_files_follow_the_umask(server, tmp_path, mask):
    previous = os.umask(mask)
    try:
        folder = download("mnist", tmp_path, progress=False)
    finally:
        os.umask(previous)
    modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in folder.iterdir()}
    assert modes == {"first.gz": 0o666 & ~mask, "second.gz": 0o666 & ~mask}


# --- paths: a file where the data folder should be, a folder that cannot be written --------


@pytest.mark.parametrize("below", ["", "sub/deeper"])
def test_a_file_in_the_way_of_the_data_folder_is_named(server, tmp_path, below):
    """mkdir said "Not a directory" naming the dataset folder, not the file in the way."""
    (tmp_path / "file").write_text("keep")
    data_dir = tmp_path / "file" / below if below else tmp_path / "file"
    problem = "is a file" if not below else f"cannot exist: {tmp_path / 'file'} is a file"
    with pytest.raises(
        DataError,
        match=rf"the data folder {re.escape(str(data_dir))} {re.escape(problem)}, not a folder; "
        r"give --data-dir",
    ):
        download("mnist", data_dir, progress=False)
    assert (tmp_path / "file").read_text() == "keep" and _listing(tmp_path) == ["file"]


@pytest.mark.parametrize(
    ("failing", "code"), [("temporary_beside", errno.EACCES), ("_stream", errno.ENOSPC)]
)
def test_a_data_folder_that_cannot_be_written_is_one_data_error(
    server, tmp_path, monkeypatch, failing, code
):
    """Was a bare OSError, whose hint named train's --out."""

    def refuse(*args, **kwargs):
        raise OSError(code, os.strerror(code), str(tmp_path / "data" / "mnist" / "first.gz"))

    monkeypatch.setattr(download_module, failing, refuse)
    with pytest.raises(
        DataError,
        match=rf"cannot use the data folder .*mnist \({os.strerror(code)}: .*first\.gz\); free "
        r"some space, or pass a writable --data-dir or set SLOPELAB_DATA$",
    ):
        download("mnist", tmp_path / "data", progress=False)
    assert _listing(tmp_path) == []  # the folders it created are gone again


@pytest.mark.parametrize("action", [["list"], ["info", "digits"], ["download", "mnist"]])
@pytest.mark.parametrize("how", ["--data-dir", "SLOPELAB_DATA", "below"])
def test_data_commands_refuse_a_file_as_the_data_folder(
    server, tmp_path, capsys, monkeypatch, action, how
):
    """``data list --data-dir FILE`` reported cifar10 as found at that (empty) file, exit 0."""
    (tmp_path / "file").write_text("")
    folder = tmp_path / "file" / "x" if how == "below" else tmp_path / "file"
    flags = [] if how == "SLOPELAB_DATA" else ["--data-dir", str(folder)]
    monkeypatch.setenv("SLOPELAB_DATA", str(folder))
    code = main(["data", *action, *flags])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    problem = f"cannot exist: {tmp_path / 'file'} is a file" if how == "below" else "is a file"
    fix = "set $SLOPELAB_DATA to a folder" if how == "SLOPELAB_DATA" else "give --data-dir"
    assert captured.err.startswith(
        f"slopelab data: error: the data folder {folder} {problem}, not a folder; {fix}"
    )
    assert len(captured.err.splitlines()) == 1


# --- what pooch would change (README, conventions): the retry policy, pinned ------------------


def test_a_checksum_mismatch_is_not_downloaded_again(server, tmp_path):
    """A wrong file is a wrong file: retrying it would fetch CIFAR-10's 163 MiB again for
    nothing (pooch 1.9 retries it)."""
    server.plan["/official/first.gz"] = ["lie"] * 5
    with pytest.raises(DataError, match=r"^checksum mismatch for .*first\.gz"):
        download("mnist", tmp_path, progress=False, retries=3)
    assert server.requests["/official/first.gz"] == 1


@pytest.mark.parametrize("retries", [0, 1, 3])
def test_server_errors_are_retried_with_doubling_waits_then_reported(
    server, tmp_path, monkeypatch, retries
):
    waits = []
    monkeypatch.setattr(download_module, "BACKOFF_SECONDS", 0.5)
    monkeypatch.setattr(download_module.time, "sleep", waits.append)
    server.plan["/official/first.gz"] = ["503"] * 10
    with pytest.raises(
        DataError,
        match=rf"after {retries + 1} attempts \(last: HTTP 503 Service Unavailable\); check your "
        "connection",
    ):
        download("mnist", tmp_path, progress=False, retries=retries)
    assert server.requests["/official/first.gz"] == retries + 1
    assert waits == [0.5 * 2**attempt for attempt in range(retries)]
    assert _listing(tmp_path) == []


def test_server_errors_then_success(server, tmp_path):
    server.plan["/official/second.gz"] = ["503", "503", "cut"]
    download("mnist", tmp_path, progress=False, retries=3)
    assert server.requests == {"/official/first.gz": 1, "/official/second.gz": 4}
    assert (tmp_path / "mnist" / "second.gz").read_bytes() == FILES["second.gz"]


def test_ctrl_c_in_the_middle_of_a_file_leaves_no_part_file(server, tmp_path, monkeypatch):
    """Interrupted after some bytes were written: the .part file goes, and so does the folder;
    files already verified stay (here: none, first.gz is the one interrupted)."""
    original = download_module._temporary_file
    seen = {}

    class Interrupting:
        def __init__(self, handle):
            self.handle, self.writes = handle, 0

        def write(self, data):
            self.writes += 1
            if self.writes == 3:
                self.handle.flush()
                seen["part"] = [p.name for p in (tmp_path / "data" / "mnist").iterdir()]
                seen["size"] = sum(p.stat().st_size for p in (tmp_path / "data").rglob("*.part"))
                raise KeyboardInterrupt
            return self.handle.write(data)

        def __getattr__(self, name):
            return getattr(self.handle, name)

    @contextlib.contextmanager
    def interrupting(target):
        with original(target) as (handle, temporary):
            yield Interrupting(handle), temporary

    monkeypatch.setattr(download_module, "_temporary_file", interrupting)
    monkeypatch.setattr(download_module, "CHUNK_BYTES", 1000)
    with pytest.raises(KeyboardInterrupt):
        download("mnist", tmp_path / "data", progress=False)
    assert len(seen["part"]) == 1 and seen["part"][0].endswith(".part") and seen["size"] == 2000
    assert _listing(tmp_path) == []
