"""How a pack's rows become train / validation / test splits, in memory or streamed.

A split the pack lacks (val, test) is its last training rows (the rows are in a seeded random
order already): ``num_val``/``num_test`` of them, by default :data:`PACK_CARVE_FRACTION` of the
training rows each, with a note saying so; ``num_train`` keeps the first training rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slopelab.data.dataset import ceil_fraction, tail_split, take_first
from slopelab.data.pack import Pack

PACK_CARVE_FRACTION = 0.1  # of a pack's training rows, for each split it lacks

SplitReader = Callable[[Pack, str], tuple[Any, Any]]


def carve_splits(
    pack: Pack,
    read: SplitReader,
    num_train: int | None = None,
    num_val: int | None = None,
    num_test: int | None = None,
) -> tuple[dict[str, tuple[Any, Any]], list[str]]:
    """``{"train": (X, y), "val": ..., "test": ...}`` with ``X`` as ``read(pack, split)`` gives
    it (an array in memory, or row ranges of the pack's files), and the notes on the splits
    carved from the training rows."""
    sizes = {"num_val": num_val, "num_test": num_test}
    train = read(pack, "train")
    held_out, notes = {}, []
    for split in ("test", "val"):
        name = f"num_{split}"
        if split in pack.splits:
            what = f"the {split} split of {pack.path}"
            held_out[split] = take_first(read(pack, split), sizes[name], name, what)
            continue
        count = sizes[name] or ceil_fraction(len(train[1]), PACK_CARVE_FRACTION)
        train, held_out[split] = tail_split(
            train, None, count, str(pack.path), asked=sizes[name] is not None
        )
        notes.append(
            f"{pack.path} has no {split} split; its last {count} training rows serve as one"
        )
    train = take_first(train, num_train, "num_train", f"the training split of {pack.path}")
    return {"train": train, **held_out}, notes
