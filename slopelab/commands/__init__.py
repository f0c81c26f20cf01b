"""The subcommands of ``slopelab``: name -> (module in this package, one-line summary).

The CLI lists every command from this table alone and imports only the module of the command
it runs, so ``slopelab --help`` never loads numpy.
"""

COMMANDS = {
    "tour": ("tour", "the lecture step by step (main job)"),
    "train": ("train", "train a classifier; writes a run folder"),
    "compare": ("compare", "strategies side by side on one budget"),
    "gradcheck": ("gradcheck", "check gradients numerically"),
    "lr-find": ("lr_find", "learning-rate range test"),
    "sweep": ("sweep", "learning rate x reg search, coarse to fine"),
    "landscape": ("landscape", "loss along a random line and plane"),
    "evaluate": ("evaluate", "accuracy of a saved model"),
    "predict": ("evaluate", "predictions of a saved model for a file"),
    "data": ("data", "list, inspect and download datasets"),
    "demo": ("demo", "interactive web demo (local server)"),
}


def summary(name: str) -> str:
    """The one-line help of command ``name``."""
    return COMMANDS[name][1]
