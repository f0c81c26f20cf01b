"""``python -m slopelab``: train the default classifier on digits and print the result."""

from __future__ import annotations

import time

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from slopelab.estimator import LinearClassifier


def main() -> int:
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, random_state=0, stratify=y
    )
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    started = time.perf_counter()
    model = LinearClassifier(random_state=0).fit(X_train, y_train)
    seconds = time.perf_counter() - started
    print(f"digits: {len(y_train)} train / {len(y_test)} test images, 8x8 pixels, 10 classes")
    print(
        f"softmax + minibatch SGD (learning rate {model.learning_rate_:.3g} from 'auto', "
        f"{model.n_iter_} epochs, {model.t_} updates) in {seconds:.2f} s"
    )
    print(f"loss {model.loss_curve_[0]:.3f} -> {model.loss_curve_[-1]:.3f}")
    print(
        f"train accuracy {model.score(X_train, y_train):.1%}, "
        f"test accuracy {model.score(X_test, y_test):.1%} (chance 10%)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
