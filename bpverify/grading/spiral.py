"""The lecture's spiral demo: a two-layer net separates data that no linear classifier can.

``bpverify demo spiral`` trains the reference TwoLayerNet (or a submission's) on CS231n's
three-armed spiral and draws the decision regions as a PNG.  The picture is written with zlib
alone (a PNG is a few chunks of deflated rows), so the demo needs nothing beyond NumPy.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "SpiralRun",
    "decision_image",
    "make_spiral",
    "train_softmax_linear",
    "train_spiral",
    "write_png",
]

#: Class colours (red, green, blue as in the convnetjs demo), regions drawn lighter.
_COLOURS = np.array([[220, 50, 47], [40, 160, 60], [38, 110, 210], [200, 140, 20]], np.uint8)


def make_spiral(
    points_per_class: int = 100, classes: int = 3, *, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """CS231n's spiral: ``classes`` arms of ``points_per_class`` noisy 2-D points each."""
    if points_per_class < 2 or not 2 <= classes <= len(_COLOURS):
        raise ValueError(
            f"make_spiral(points_per_class={points_per_class}, classes={classes}): expected "
            f"at least 2 points per class and 2 to {len(_COLOURS)} classes"
        )
    rng = np.random.default_rng(seed)
    X = np.zeros((points_per_class * classes, 2))
    y = np.zeros(points_per_class * classes, dtype=np.int64)
    for j in range(classes):
        ix = slice(points_per_class * j, points_per_class * (j + 1))
        r = np.linspace(0.0, 1.0, points_per_class)
        t = np.linspace(j * 4, (j + 1) * 4, points_per_class) + rng.normal(0, 0.2, points_per_class)
        X[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
        y[ix] = j
    return X, y


LossFn = Callable[[np.ndarray, np.ndarray], tuple[float, dict[str, np.ndarray]]]


@dataclass(frozen=True)
class SpiralRun:
    accuracy: float
    final_loss: float
    steps: int
    params: dict[str, np.ndarray]


def train_spiral(
    net: Any,
    X: np.ndarray,
    y: np.ndarray,
    *,
    steps: int = 3000,
    learning_rate: float = 1.0,
) -> SpiralRun:
    """Full-batch gradient descent on ``net.loss(X, y)``; accuracy from ``net.loss(X)``."""
    loss = float("nan")
    for _ in range(steps):
        loss, grads = net.loss(X, y)
        for k, g in grads.items():
            net.params[k] -= learning_rate * g
    predicted = np.argmax(net.loss(X), axis=1)
    return SpiralRun(
        accuracy=float(np.mean(predicted == y)),
        final_loss=float(loss),
        steps=steps,
        params={k: np.array(v) for k, v in net.params.items()},
    )


def train_softmax_linear(
    X: np.ndarray, y: np.ndarray, *, steps: int = 1000, learning_rate: float = 1.0,
    reg: float = 1e-3,
) -> float:
    """Accuracy of a linear softmax classifier on the same data (the lecture's baseline)."""
    classes = int(y.max()) + 1
    W = np.zeros((X.shape[1], classes))
    b = np.zeros(classes)
    rows = np.arange(len(y))
    for _ in range(steps):
        scores = X @ W + b
        p = np.exp(scores - scores.max(axis=1, keepdims=True))
        ds = p / p.sum(axis=1, keepdims=True)
        ds[rows, y] -= 1.0
        ds /= len(y)
        W -= learning_rate * (X.T @ ds + reg * W)
        b -= learning_rate * ds.sum(axis=0)
    return float(np.mean(np.argmax(X @ W + b, axis=1) == y))


def decision_image(
    predict: Callable[[np.ndarray], np.ndarray], X: np.ndarray, y: np.ndarray, size: int = 320
) -> np.ndarray:
    """An RGB image of the predicted class over the data's bounding box, with the points."""
    lo, hi = X.min(axis=0) - 0.15, X.max(axis=0) + 0.15
    xs = np.linspace(lo[0], hi[0], size)
    ys = np.linspace(hi[1], lo[1], size)  # image rows go downward
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    regions = predict(grid).reshape(size, size)
    img = (_COLOURS[regions] * 0.35 + 255 * 0.65).astype(np.uint8)
    px = np.round((X - lo) / (hi - lo) * (size - 1)).astype(int)
    for (cx, cy), label in zip(px, y):
        row = size - 1 - cy
        for dr in range(-2, 3):
            for dc in range(-2, 3):
                if dr * dr + dc * dc <= 5 and 0 <= row + dr < size and 0 <= cx + dc < size:
                    img[row + dr, cx + dc] = _COLOURS[label] if dr * dr + dc * dc <= 2 else 0
    return img


def write_png(path: str | Path, rgb: np.ndarray) -> Path:
    """Write an (H, W, 3) uint8 array as a PNG file."""
    path = Path(path)
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[r].tobytes() for r in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png)
    return path
