"""Which examples update number ``step`` uses, computed from the step alone (no RNG to carry).

Epoch ``e = step // B``, with ``B = ceil(N / batch_size)`` batches per epoch, visits the
permutation ``numpy.random.default_rng([seed, e]).permutation(N)`` in consecutive slices of
``batch_size``; the last slice holds the remainder. Every example is used once per epoch, as in
``slopelab.train``'s ``sampling="shuffle"``, and the browser can step back or jump anywhere on
its timeline without replaying the generator. The "copy as Python" script uses the same rule.

>>> batch_indices(num_examples=5, batch_size=2, seed=0, step=0).size
2
>>> batch_indices(num_examples=5, batch_size=2, seed=0, step=2).size  # the remainder
1
>>> batch_indices(num_examples=5, batch_size=5, seed=0, step=0) is None  # full batch
True
"""

from __future__ import annotations

import numpy as np


def batch_indices(
    num_examples: int, batch_size: int | None, seed: int, step: int
) -> np.ndarray | None:
    """The example indices of update ``step``, or ``None`` for the full batch."""
    if batch_size is None or batch_size >= num_examples:
        return None
    batches_per_epoch = -(-num_examples // batch_size)
    epoch, position = divmod(step, batches_per_epoch)
    order = np.random.default_rng([seed, epoch]).permutation(num_examples)
    return order[position * batch_size : (position + 1) * batch_size]
