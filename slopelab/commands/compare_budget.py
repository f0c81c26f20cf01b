"""What every strategy of ``slopelab compare`` gets, per dataset, said in one line.

The default budget is **equal examples processed**, roughly equal compute: a loss evaluation on
S examples costs S x D x C multiply-adds, a loss and gradient about twice that. Its size comes
from the searches: each gets the dataset's number of tries (the lecture's 1,000 on cifar10, 200
elsewhere), each try a loss evaluation on a fixed random sample of at most 2,000 training
examples (:func:`slopelab.search.command_sample_size`); every other strategy then processes the
same number of examples. On CIFAR-10 that is 2,000,000 examples: about 41 epochs of 49,000, or
10,000 minibatch steps of 200. ``--epochs``, ``--evaluations`` and ``--seconds`` replace it.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from slopelab.commands.limits import MAX_RECORDED_STEPS, check_recorded_steps
from slopelab.errors import CommandError
from slopelab.history import Budget
from slopelab.search import command_sample_size
from slopelab.train import steps_per_epoch

DEFAULT_SEARCH_TRIES = 200
SEARCH_TRIES = {"cifar10": 1000}  # the lecture's 1,000 tries, on its own dataset
SEARCHES = ("random-search", "random-local-search")
FULL_BATCH = ("gradient-descent",)


@dataclass(frozen=True)
class CompareBudget:
    """The budget every strategy runs on, the searches' sample size, and the line saying it."""

    budget: Budget
    search_sample: int
    text: str

    @property
    def headline(self) -> str:
        """The budget without what it means per strategy (a figure's title)."""
        return self.text.partition(": ")[0]


def search_tries(dataset: str) -> int:
    """The loss evaluations each search gets by default on ``dataset``.

    >>> search_tries("cifar10"), search_tries("digits")
    (1000, 200)
    """
    return SEARCH_TRIES.get(dataset, DEFAULT_SEARCH_TRIES)


def default_examples(dataset: str, num_examples: int) -> int:
    """The default budget in examples: the searches' tries times their sample size.

    >>> default_examples("cifar10", 49000), default_examples("digits", 1293)
    (2000000, 258600)
    """
    return search_tries(dataset) * command_sample_size(num_examples)


def compare_budget(
    args: argparse.Namespace, dataset: str, num_examples: int, strategies: list[str]
) -> CompareBudget:
    """The budget from ``--evaluations``, ``--seconds`` or ``--epochs`` (None: the dataset's
    default), refused when it means more steps than a run records."""
    sample = command_sample_size(num_examples)
    batch = min(args.batch_size, num_examples)
    if args.evaluations is not None:
        check_recorded_steps(
            args.evaluations, f"--evaluations {args.evaluations}", "use fewer --evaluations"
        )
        budget = Budget(evaluations=args.evaluations)
    elif args.seconds is not None:
        budget = Budget(seconds=args.seconds, steps=MAX_RECORDED_STEPS)
    else:
        budget = Budget(examples=_examples(args, dataset, num_examples, batch))
    text = budget_line(budget, num_examples, batch, sample, strategies)
    return CompareBudget(budget, sample, text)


def _examples(args: argparse.Namespace, dataset: str, num_examples: int, batch: int) -> int:
    if args.epochs is None:
        examples, flag = default_examples(dataset, num_examples), "the default budget"
    else:
        examples, flag = round(args.epochs * num_examples), f"--epochs {args.epochs:g}"
        if examples < 1:
            raise CommandError(f"--epochs {args.epochs:g} is less than one example; use more")
    check_recorded_steps(
        examples / batch,
        f"{flag} at batch {batch}",
        f"use at most --epochs {MAX_RECORDED_STEPS * batch // num_examples:,}",
    )
    return examples


def budget_line(
    budget: Budget, num_examples: int, batch: int, sample: int, strategies: list[str]
) -> str:
    """One line: the budget, and what it means for each kind of strategy in ``strategies``."""
    where = (
        f"all {num_examples:,} training examples"
        if sample == num_examples
        else f"a fixed random sample of {sample:,} training examples"
    )
    if budget.seconds is not None:
        head = f"{budget.seconds:g} s of training each (at most {budget.steps:,} steps)"
        searches = f"the searches evaluate the loss on {where}"
        full_batch = "gradient descent full-batch steps"
        minibatch = f"minibatch SGD steps of {batch}"
    elif budget.evaluations is not None:
        count = budget.evaluations
        head = f"{count:,} loss evaluations each"
        searches = f"the searches on {where} ({count * sample:,} examples)"
        full_batch = (
            f"gradient descent {count:,} full-batch steps ({count * num_examples:,} examples)"
        )
        examples = sgd_examples(count, num_examples, batch)
        minibatch = f"minibatch SGD {count:,} steps of {batch} ({examples:,} examples)"
    else:
        examples = budget.examples
        epochs = examples / num_examples
        head = f"{examples:,} examples each ({epochs_text(epochs)} epochs of {num_examples:,})"
        searches = f"the searches {-(-examples // sample):,} loss evaluations on {where}"
        steps = -(-examples // num_examples)
        full_batch = f"gradient descent {steps:,} full-batch steps"
        if steps * num_examples != examples:  # the last step is whole: say what it adds up to
            full_batch += f" ({steps * num_examples:,} examples, whole steps)"
        minibatch = f"minibatch SGD {sgd_steps(examples, num_examples, batch):,} steps of {batch}"
    kinds = {"searches": searches, "full batch": full_batch, "minibatch": minibatch}
    wanted = {strategy_kind(name) for name in strategies}
    return head + ": " + ", ".join(text for kind, text in kinds.items() if kind in wanted)


def epochs_text(epochs: float) -> str:
    """Three significant digits, never in scientific notation.

    >>> epochs_text(40.816), epochs_text(1000.0), epochs_text(0.25)
    ('40.8', '1,000', '0.25')
    """
    return f"{epochs:,.0f}" if epochs >= 100 else f"{epochs:.3g}"


def strategy_kind(name: str) -> str:
    """``searches``, ``full batch`` or ``minibatch``: how a strategy spends the budget."""
    if name in SEARCHES:
        return "searches"
    return "full batch" if name in FULL_BATCH else "minibatch"


def sgd_steps(examples: int, num_examples: int, batch: int) -> int:
    """Minibatch steps until ``examples`` are processed: whole epochs of
    ``ceil(N / batch)`` steps (the last batch holds the remainder), then full batches.

    >>> sgd_steps(2000000, 49000, 200), sgd_steps(2586, 1293, 200)
    (10000, 14)
    """
    epochs, rest = divmod(examples, num_examples)
    return epochs * steps_per_epoch(num_examples, batch) + -(-rest // batch)


def sgd_examples(steps: int, num_examples: int, batch: int) -> int:
    """Examples processed by ``steps`` minibatch steps (each epoch's last batch holds the
    remainder).

    >>> sgd_examples(4, 10, 3), sgd_examples(5, 10, 3)
    (10, 13)
    """
    epochs, rest = divmod(steps, steps_per_epoch(num_examples, batch))
    return epochs * num_examples + rest * batch
