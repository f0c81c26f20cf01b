"""Downloading datasets from their official URLs, verified and atomic.

For each file of ``DATASETS[name].downloads``: a file already in ``<data folder>/<name>`` with the
right SHA-256 is kept; otherwise it is streamed into a temporary file *in the same folder*,
hashed on the way, and moved into place with ``os.replace`` only when its SHA-256 matches, so
the folder never holds a half-written dataset (files get the usual mode, 0o666 less the umask).
Network errors, 5xx answers and transfers that end before their Content-Length are retried with
exponential backoff; a 404 or a checksum mismatch is a ``DataError`` at once. A download that
fails removes the folders it created while they are still empty. The progress bar (tqdm, on
stderr; a widget in a notebook) shows when stderr is a terminal, in a Jupyter notebook, or when
``progress=True``. Only the standard library's
urllib touches the network.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from slopelab.data import registry
from slopelab.data.errors import DataError
from slopelab.data.locations import dataset_dir
from slopelab.progress import progress_bar, shows_progress
from slopelab.runs import file_in_the_way, temporary_beside

BACKOFF_SECONDS = 1.0  # wait before the first retry; doubles for each later one
CHUNK_BYTES = 1 << 20
RETRY_STATUS = {408, 429, 500, 502, 503, 504}
USER_AGENT = "slopelab-data/0.1 (Python urllib)"


class _RetryableError(Exception):
    """A failure worth another attempt: the network, not the file, went wrong."""


def download(
    name: str,
    data_dir: str | Path | None = None,
    *,
    progress: bool | None = None,
    retries: int = 3,
    timeout: float = 30.0,
    base_url: str | None = None,
) -> Path:
    """Fetch dataset ``name`` into ``<data folder>/<name>`` and return that folder.

    ``retries`` is how many more attempts a file gets after a network failure; ``timeout`` is
    the socket timeout in seconds; ``base_url`` replaces the folder part of every official URL
    (for mirrors and tests).
    """
    info = _downloadable(name)
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise DataError(f"retries must be a whole number >= 0; got {retries!r}")
    folder = dataset_dir(info.name, data_dir)
    show = progress if progress is not None else shows_progress()
    with _new_folders_removed_if_empty(folder):
        for remote in info.downloads:
            url = remote.url if base_url is None else f"{base_url.rstrip('/')}/{remote.filename}"
            fetch_file(
                url,
                folder / remote.filename,
                remote.sha256,
                progress=show,
                retries=retries,
                timeout=timeout,
                size_hint=remote.size,
            )
    return folder


@contextmanager
def _new_folders_removed_if_empty(folder: Path) -> Iterator[None]:
    """Create ``folder`` (and its missing parents); if the body fails (no network, Ctrl-C),
    remove the ones this call created that are still empty, so a failed download leaves
    nothing behind. Verified files already in place are kept for the next attempt."""
    blocking = file_in_the_way(folder)
    if blocking is not None:
        raise DataError(
            f"cannot create the data folder {folder}: {blocking} is a file, not a folder; pass "
            "another --data-dir or set SLOPELAB_DATA"
        )
    created = [path for path in (folder, *folder.parents) if not path.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(
            f"cannot create the data folder {folder}: {error.strerror or error}; pass a "
            "writable --data-dir or set SLOPELAB_DATA"
        ) from None
    try:
        yield
    except OSError as error:  # writing a file: no permission, a full disk
        _remove_new_folders(created)
        where = f": {error.filename}" if error.filename else ""
        raise DataError(
            f"cannot use the data folder {folder} ({error.strerror or error}{where}); free "
            "some space, or pass a writable --data-dir or set SLOPELAB_DATA"
        ) from None
    except BaseException:
        _remove_new_folders(created)
        raise


def _remove_new_folders(created: list[Path]) -> None:
    """Remove the folders a failed download created, deepest first, while they are empty."""
    for path in created:
        try:
            path.rmdir()
        except OSError:  # not empty, or not ours to remove any more
            break


def fetch_file(
    url: str,
    target: Path,
    sha256: str,
    *,
    progress: bool = False,
    retries: int = 3,
    timeout: float = 30.0,
    size_hint: int | None = None,
) -> Path:
    """Download ``url`` to ``target`` unless ``target`` already has SHA-256 ``sha256``."""
    if target.is_file() and file_sha256(target) == sha256.lower():
        return target
    attempts = retries + 1
    for attempt in range(1, attempts + 1):
        try:
            return _fetch_once(url, target, sha256.lower(), progress, timeout, size_hint)
        except _RetryableError as error:
            failure = str(error)
        if attempt < attempts:
            time.sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
    raise DataError(
        f"could not download {url} after {attempts} attempts (last: {failure}); check your "
        f"connection and run the download again, or put {target.name} in {target.parent} by hand"
    )


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, as lowercase hex."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _fetch_once(
    url: str, target: Path, sha256: str, progress: bool, timeout: float, size_hint: int | None
) -> Path:
    with _open(url, timeout) as response, _temporary_file(target) as (handle, temporary):
        length = _content_length(response)
        actual, received = _stream(response, handle, length or size_hint, target.name, progress)
        if length is not None and received != length:
            raise _RetryableError(f"the transfer stopped after {received} of {length} bytes")
        if actual != sha256:
            raise DataError(
                f"checksum mismatch for {url}: expected SHA-256 {sha256}, got {actual}; the "
                "download is corrupt or the file changed upstream, and nothing was kept; "
                "run the download again"
            )
        handle.flush()
        os.fsync(handle.fileno())  # on disk before it takes the real name
        handle.close()
        os.replace(temporary, target)
    return target


def _open(url: str, timeout: float) -> http.client.HTTPResponse:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        return urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        error.close()
        if error.code in RETRY_STATUS:
            raise _RetryableError(f"HTTP {error.code} {error.reason}") from None
        raise DataError(
            f"could not download {url}: the server answered HTTP {error.code} {error.reason}; "
            "check that the URL (or base_url) is right"
        ) from None
    except ValueError as error:  # not a URL urllib understands
        raise DataError(f"cannot download {url!r}: {error}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        raise _RetryableError(
            str(getattr(error, "reason", error)) or type(error).__name__
        ) from None


def _stream(
    response: http.client.HTTPResponse,
    handle: IO[bytes],
    total: int | None,
    label: str,
    progress: bool,
) -> tuple[str, int]:
    """Copy the body into ``handle``; return its SHA-256 (hex) and the number of bytes."""
    digest, received = hashlib.sha256(), 0
    bar = progress_bar(
        total=total,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=label,
        disable=not progress,
    )
    with bar:
        while True:
            try:
                chunk = response.read(CHUNK_BYTES)
            except (OSError, http.client.HTTPException) as error:  # reset, timeout, cut short
                reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
                raise _RetryableError(
                    f"the connection broke after {received} bytes ({reason})"
                ) from None
            if not chunk:
                return digest.hexdigest(), received
            handle.write(chunk)
            digest.update(chunk)
            received += len(chunk)
            bar.update(len(chunk))


@contextmanager
def _temporary_file(target: Path) -> Iterator[tuple[IO[bytes], Path]]:
    """A new file beside ``target`` (same file system, so ``os.replace`` is atomic), removed
    on the way out unless it was moved into place."""
    descriptor, temporary = temporary_beside(target, ".part")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            yield handle, temporary
    finally:
        temporary.unlink(missing_ok=True)


def _content_length(response: http.client.HTTPResponse) -> int | None:
    value = response.headers.get("Content-Length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _downloadable(name: str) -> registry.DatasetInfo:
    key = registry.ALIASES.get(str(name).lower(), str(name).lower())
    info = registry.DATASETS.get(key)
    downloadable = ", ".join(n for n, known in registry.DATASETS.items() if known.downloads)
    if info is None:
        raise DataError(f"unknown dataset {name!r}; datasets to download: {downloadable}")
    if not info.downloads:
        raise DataError(
            f"{info.name} needs no download ({info.description}); datasets to download: "
            f"{downloadable}"
        )
    return info
