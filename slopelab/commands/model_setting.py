"""What a saved model was trained with, for a command that looks at it (``landscape --at RUN``).

* its data: the options saved in ``model.npz``, found and split exactly as ``slopelab evaluate``
  does (:func:`slopelab.commands.evaluate.evaluation_data`: a data flag given on the command
  line overrides the saved value, and ``--data`` names other data);
* its loss and penalty: saved in ``model.npz``;
* its regularization strength: in the ``config.json`` of the run folder that holds the model
  (``model.npz`` does not record it).

A loss flag given on the command line that disagrees with the model's wins, with a note saying
so; a value the model does not record is taken from the flag, with a note too. Nothing is
decided silently.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slopelab.data.prepare import DATA_OPTIONS
from slopelab.model import SavedModel
from slopelab.runs import CONFIG, RunError, read_config


@dataclass(frozen=True)
class Objective:
    """The loss a landscape draws: ``data loss + reg * R(W)``, and how it was decided."""

    loss: str
    penalty: str
    reg: float
    notes: list[str] = field(default_factory=list)
    l1_ratio: float = 0.15  # of the elasticnet penalty, as model.npz records it

    def describe(self) -> str:
        """``svm loss + 0.0001 x l2 penalty``."""
        if self.penalty == "none" or self.reg == 0:
            return f"{self.loss} loss (no penalty)"
        if self.penalty == "elasticnet":
            return (
                f"{self.loss} loss + {self.reg:g} x elasticnet penalty (l1_ratio {self.l1_ratio:g})"
            )
        return f"{self.loss} loss + {self.reg:g} x {self.penalty} penalty"

    def as_dict(self) -> dict[str, Any]:
        return {"loss": self.loss, "penalty": self.penalty, "reg": self.reg}


def with_model_data(
    args: argparse.Namespace, model: SavedModel
) -> tuple[argparse.Namespace, tuple[str, ...]]:
    """A copy of ``args`` whose data options are the ones ``model`` was trained with
    (``slopelab evaluate``'s rules), and that choice's notes; ``args.seed`` stays the seed of
    the command's own random choices, and the split uses the model's seed unless ``--data``
    names other data."""
    from slopelab.commands.evaluate import evaluation_data

    given = set(getattr(args, "given", set())) - {"seed", "preprocess"}
    view = argparse.Namespace(
        **{**vars(args), "data": args.data if "data" in given else None, "given": given}
    )
    view.model = args.at
    options, notes = evaluation_data(view, model)
    saved = model.meta.get("data") or {}
    same_data = options["data"] == saved.get("data")
    options["preprocess"] = saved.get("preprocess", "auto") if same_data else "auto"
    chosen = {key: options[key] for key in DATA_OPTIONS}
    return argparse.Namespace(**{**vars(args), **chosen}), notes


def model_objective(args: argparse.Namespace, model: SavedModel) -> Objective:
    """The model's loss, penalty and reg; a flag given on the command line overrides each,
    with a note when it differs from the model's."""
    given = getattr(args, "given", set())
    notes = []
    saved = {
        "loss": model.loss,
        "penalty": model.meta.get("penalty", "l2"),
        "reg": saved_reg(Path(args.at)),
    }
    chosen = {}
    for name, value in saved.items():
        flag = getattr(args, name)
        if name in given and value is not None and flag != value:
            notes.append(
                f"{args.at} was trained with --{name} {_shown(value)}; drawing --{name} "
                f"{_shown(flag)} as given"
            )
        if value is None:
            notes.append(
                f"{args.at} does not record its --{name} (no readable {CONFIG} beside it); "
                f"using --{name} {_shown(flag)}" + ("" if name in given else ", the default")
            )
        chosen[name] = flag if name in given or value is None else value
    l1_ratio = float(model.meta.get("l1_ratio", 0.15))
    return Objective(chosen["loss"], chosen["penalty"], float(chosen["reg"]), notes, l1_ratio)


def _shown(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def saved_reg(where: Path) -> float | None:
    """The regularization strength in the ``config.json`` of the run that wrote the model at
    ``where`` (a run folder or its ``model.npz``); None when there is no such record."""
    run_dir = where if where.is_dir() else where.parent
    if not (run_dir / CONFIG).is_file():
        return None
    try:
        config = read_config(run_dir)
    except RunError:
        return None
    section = config.get("loss")
    reg = section.get("reg") if isinstance(section, dict) else None
    if isinstance(reg, bool) or not isinstance(reg, (int, float)):
        return None
    return float(reg) if math.isfinite(reg) and reg >= 0 else None
