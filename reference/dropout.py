"""Inverted dropout in the CS231n function style (assignment 2, the 2018+ starters' ``p``)."""

from __future__ import annotations

from typing import Any

import numpy as np

Cache = Any


def dropout_forward(x: np.ndarray, dropout_param: dict[str, Any]) -> tuple[np.ndarray, Cache]:
    """Forward pass for inverted dropout.

    Inputs:
    - x: Input data, of any shape
    - dropout_param: A dictionary with the following keys:
      - p: Dropout parameter. We keep each neuron output with probability p.
      - mode: 'test' or 'train'. In train mode the kept units are divided by p, so that the
        expected output is x; in test mode the input is returned unchanged.
      - seed: Seed for the random number generator (optional).

    Outputs:
    - out: Array of the same shape as x.
    - cache: (dropout_param, mask); mask is None in test mode.
    """
    p, mode = dropout_param["p"], dropout_param["mode"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])
    mask = None
    if mode == "train":
        mask = (np.random.rand(*x.shape) < p) / p
        out = x * mask
    elif mode == "test":
        out = x.copy()
    else:
        raise ValueError(f"dropout_forward: dropout_param['mode'] is {mode!r}; "
                         "expected 'train' or 'test'")
    return out.astype(x.dtype, copy=False), (dropout_param, mask)


def dropout_backward(dout: np.ndarray, cache: Cache) -> np.ndarray:
    """dx = dout * mask in train mode (the same scaled mask), dout in test mode."""
    dropout_param, mask = cache
    if dropout_param["mode"] == "train":
        return dout * mask
    return dout.copy()
