"""A pack prepared for training without loading it: every split a :class:`StreamedRows`.

The splits are carved by :func:`slopelab.data.pack_splits.carve_splits`, as in memory, but on
row ranges of the files, so nothing is read but the labels. The preprocessing is fitted in one
streaming pass over the training rows (:func:`slopelab.data.stream_stats.fit_streaming`).

A config's ``stream`` entry, ``{"block_rows": R, "buffer_blocks": K}`` (R None: about 8 MB a
block), says how the training rows are shuffled; a run records it, so a resumed run reads its
epochs in the same order.
"""

from __future__ import annotations

from typing import Any

from slopelab.data.dataset import Dataset
from slopelab.data.errors import DataError
from slopelab.data.files import file_sha256
from slopelab.data.npyrows import NpyRows
from slopelab.data.pack import METADATA, Pack, open_pack
from slopelab.data.pack_splits import carve_splits
from slopelab.data.stream import BUFFER_BLOCKS, StreamedRows
from slopelab.data.stream_stats import default_block_rows, fit_streaming


def default_stream() -> dict[str, Any]:
    """The ``stream`` entry of a new run's data config (block size resolved when prepared)."""
    return {"block_rows": None, "buffer_blocks": BUFFER_BLOCKS}


def prepare_streamed(config: dict[str, Any]) -> Any:
    """The :class:`~slopelab.data.prepare.Prepared` of the pack ``config["data"]`` with every
    split streamed; ``config["stream"]["block_rows"]`` is resolved in place when None."""
    from slopelab.data.prepare import Prepared

    pack = open_pack(config["data"])
    sha256 = file_sha256(pack.path / METADATA)  # it holds the SHA-256 of every split
    recorded = config.get("sha256")
    if recorded and sha256 != recorded:
        raise DataError(
            f"{config['data']} changed since this run started (its pack.json differs from the "
            "one in the run's config.json), so its splits would not be the run's; restore the "
            "pack, or start a new run"
        )
    splits, notes = carve_splits(
        pack,
        read_split_rows,
        config.get("num_train"),
        config.get("num_val"),
        config.get("num_test"),
    )
    kind = config.get("preprocess", "auto")
    kind = pack.default_preprocess if kind == "auto" else kind
    train_rows = splits["train"][0]
    preprocessor = fit_streaming(train_rows, kind)
    stream = config.setdefault("stream", default_stream())
    stream["block_rows"] = stream.get("block_rows") or default_block_rows(train_rows.row_bytes)
    sources = {
        name: StreamedRows(
            rows,
            preprocessor,
            seed=config.get("seed", 0),
            block_rows=stream["block_rows"],
            buffer_blocks=stream["buffer_blocks"],
        )
        for name, (rows, _) in splits.items()
    }
    dataset = Dataset(
        name=pack.name,
        **{f"X_{name}": sources[name] for name in splits},
        **{f"y_{name}": y for name, (_, y) in splits.items()},
        class_names=pack.class_names,
        image_shape=pack.image_shape,
        source=str(pack.path),
        default_preprocess=pack.default_preprocess,
        notes=tuple(notes),
        sha256=sha256,
    )
    return Prepared(
        dataset,
        preprocessor,
        kind,
        *(part for name in ("train", "val", "test") for part in (sources[name], splits[name][1])),
    )


def read_split_rows(pack: Pack, name: str) -> tuple[NpyRows, Any]:
    """A split of ``pack`` as a row range of its file (nothing read) and its labels."""
    part = pack.split(name)
    return NpyRows(part.X_path), part.y


def check_stream_entry(value: Any) -> dict[str, int] | None:
    """A run's ``data.stream`` entry: null (in memory), or ``{"block_rows": R,
    "buffer_blocks": K}`` with whole numbers >= 1."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"block_rows", "buffer_blocks"}:
        raise DataError(f'must be null or {{"block_rows": R, "buffer_blocks": K}}; got {value!r}')
    for key, number in value.items():
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            raise DataError(f"{key} must be a whole number >= 1; got {number!r}")
    return dict(value)
