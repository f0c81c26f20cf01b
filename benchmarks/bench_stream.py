"""Benchmark streaming out of core: one SGD epoch over a synthetic ImageNet-sized uint8 file.

    python benchmarks/bench_stream.py                  # 1,281,167 x 3,072 uint8 (3.9 GB), once
    python benchmarks/bench_stream.py --quick          # 20,000 rows: a smoke run in seconds
    python benchmarks/bench_stream.py --path DIR --keep

The training rows are written (random pixels, random labels among ``--classes``) as the
``train-X.npy`` a pack holds, in a temporary folder (or ``--path``; deleted afterwards unless
``--keep``). Then, each in a child process so that writing the file is not counted:

- the one-pass preprocessing statistics and one epoch of streamed minibatch SGD
  (:class:`slopelab.data.stream.StreamedRows`, the path ``slopelab train --data PACKED``
  takes), with its peak resident memory (``VmHWM``) against the 1.5 GB bound;
- one epoch on ``--in-memory-rows`` rows of the same width held in memory as float32, for the
  in-memory rate per example.

Beside them: the file's sequential read speed (8 MB reads, after ``fsync`` and
``posix_fadvise(POSIX_FADV_DONTNEED)`` to drop it from the page cache; the statistics pass and
the streamed epoch each start with the file dropped too, so every pass reads the disk) and the
memory bandwidth (a 256 MB numpy copy, bytes copied per
second).

Classes: 10 by default. The cost of a step is the two products ``X_b W`` and ``X_b^T dS``,
``4 B D C`` flops: with ImageNet's 1,000 classes an epoch is ~16 TFLOP, about 5 minutes of
both cores, and the streaming machinery (read, convert, preprocess) would hide behind the
products; with 10 the epoch measures that machinery, which is what this benchmark is about.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from timing import Row, heading, machine_lines, render_table, verdict

IMAGENET_ROWS, FEATURES = 1_281_167, 3072
RSS_BOUND = 1.5e9
READ_BYTES = 8 * 2**20


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def write_rows(folder: Path, num_rows: int, classes: int) -> Path:
    """``train-X.npy`` (uint8) and ``train-y.npy`` written a slice at a time."""
    path = folder / "train-X.npy"
    X = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(num_rows, FEATURES))
    rng = np.random.default_rng(0)
    for start in range(0, num_rows, 20_000):
        stop = min(start + 20_000, num_rows)
        X[start:stop] = rng.integers(0, 256, (stop - start, FEATURES), dtype=np.uint8)
    X.flush()
    del X
    np.save(folder / "train-y.npy", rng.integers(0, classes, num_rows))
    return path


def drop_from_page_cache(path: Path) -> None:
    """Ask the kernel to drop the file's cached pages (they are clean after the fsync)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
        os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(descriptor)


def disk_read_speed(path: Path) -> float:
    """Bytes per second of one sequential read of the whole file, 8 MB at a time."""
    drop_from_page_cache(path)
    buffer = bytearray(READ_BYTES)
    descriptor = os.open(path, os.O_RDONLY)
    started, total = time.perf_counter(), 0
    try:
        while count := os.readv(descriptor, [buffer]):
            total += count
    finally:
        os.close(descriptor)
    return total / (time.perf_counter() - started)


def memory_bandwidth() -> float:
    """Bytes copied per second by ``np.copyto`` of 256 MB (the best of 5)."""
    source = np.ones(2**25)  # 256 MB of float64
    target = np.empty_like(source)
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        np.copyto(target, source)
        best = min(best, time.perf_counter() - started)
    return source.nbytes / best


CHILD = """
import json, os, sys, time
import numpy as np
from slopelab.data.npyrows import NpyRows
from slopelab.data.preprocess import Preprocessor
from slopelab.data.stream import StreamedRows
from slopelab.data.stream_stats import fit_streaming
from slopelab.environment import describe_blas
from slopelab.history import Budget
from slopelab.train import sgd

mode, path, y_path = sys.argv[1:4]
batch_size, rows = int(sys.argv[4]), int(sys.argv[5])
y = np.load(y_path)
started = time.perf_counter()
if mode == "streamed":
    preprocessor = fit_streaming(NpyRows(path), "center")
    X = StreamedRows(path, preprocessor, seed=0)
    descriptor = os.open(path, os.O_RDONLY)  # the pass cached the file: drop it again
    os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(descriptor)
else:
    X = np.array(np.load(path, mmap_mode="r")[:rows], dtype=np.float32)
    X = Preprocessor("center").fit_transform(X)
    y = y[:rows]
prepared = time.perf_counter() - started
history = sgd("softmax", X, y, budget=Budget(epochs=1), batch_size=batch_size,
              learning_rate=1e-7, rng=0, eval_every=None)
assert history.status == "completed", history.message
peak = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) * 1024
print(json.dumps({"prepare": prepared, "epoch": history.seconds, "rows": len(y), "peak": peak,
                  "blas": describe_blas()}))
"""


def run_child(mode: str, x_path: Path, batch_size: int, rows: int) -> dict:
    y_path = x_path.with_name("train-y.npy")
    args = [sys.executable, "-c", CHILD, mode, str(x_path), str(y_path), str(batch_size), str(rows)]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the {mode} child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def rows_of_table(
    streamed: dict, in_memory: dict, disk: float, memory: float, size: int, quick: bool
) -> list:
    row_bytes = FEATURES  # uint8 on disk
    streamed_rate = streamed["rows"] / streamed["epoch"]
    in_memory_rate = in_memory["rows"] / in_memory["epoch"]
    return [
        heading(f"streamed epoch: {streamed['rows']:,} x {FEATURES:,} uint8 ({size / 1e9:.2f} GB)"),
        Row("statistics pass (center)", f"{streamed['prepare']:.1f} s", depends="machine, disk"),
        Row("one epoch, streamed", f"{streamed['epoch']:.1f} s", depends="machine, disk, load"),
        Row("examples/s, streamed", f"{streamed_rate:,.0f}", depends="machine, disk, load"),
        Row(
            "peak RSS (VmHWM) vs the 1.5 GB bound",
            f"{streamed['peak'] / 1e9:.2f} GB",
            streamed["peak"] / RSS_BOUND,
            target="<= 1",
            check="smoke" if quick else verdict(streamed["peak"] / RSS_BOUND, at_most=1.0),
            depends="machine, libraries",
        ),
        Row(
            "streamed bytes/s vs sequential disk read",
            f"{streamed_rate * row_bytes / 1e6:,.0f} MB/s vs {disk / 1e6:,.0f} MB/s",
            streamed_rate * row_bytes / disk,
            depends="machine, disk, load",
        ),
        Row(
            "streamed float32 bytes/s vs memory copy",
            f"{streamed_rate * 4 * FEATURES / 1e9:.2f} GB/s vs {memory / 1e9:.2f} GB/s",
            streamed_rate * 4 * FEATURES / memory,
            depends="machine, load",
        ),
        heading(f"in memory: {in_memory['rows']:,} x {FEATURES:,} float32, same batches"),
        Row("examples/s, in memory", f"{in_memory_rate:,.0f}", depends="machine, load"),
        Row(
            "streamed rate / in-memory rate",
            f"{streamed_rate:,.0f} / {in_memory_rate:,.0f}",
            streamed_rate / in_memory_rate,
            depends="machine, disk, load",
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=IMAGENET_ROWS)
    parser.add_argument("--in-memory-rows", type=int, default=50_000)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--path", type=Path, help="folder for the file (default: a temp one)")
    parser.add_argument("--keep", action="store_true", help="keep the file afterwards")
    parser.add_argument("--quick", action="store_true", help="20,000 rows, 5,000 in memory")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.in_memory_rows = 20_000, 5_000
    folder = args.path or Path(tempfile.mkdtemp(prefix="bench-stream-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        say(f"writing {args.rows:,} x {FEATURES:,} uint8 rows to {folder} ...")
        x_path = write_rows(folder, args.rows, args.classes)
        size = x_path.stat().st_size
        say("measuring the disk and memory ...")
        disk, memory = disk_read_speed(x_path), memory_bandwidth()
        say("one streamed epoch (file dropped from the page cache first) ...")
        drop_from_page_cache(x_path)
        streamed = run_child("streamed", x_path, args.batch_size, args.rows)
        say("one in-memory epoch ...")
        in_memory = run_child("memory", x_path, args.batch_size, args.in_memory_rows)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    for line in machine_lines():
        print(f"- {line}")
    print(f"- training BLAS: {streamed['blas']}")
    print(
        f"- {args.classes} classes, batch {args.batch_size}, softmax, centred pixels; the page "
        "cache was dropped for the file (fsync + posix_fadvise DONTNEED) before the disk read, "
        "before the statistics pass and again before the streamed epoch (cold reads)"
    )
    print()
    print(render_table(rows_of_table(streamed, in_memory, disk, memory, size, args.quick)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
