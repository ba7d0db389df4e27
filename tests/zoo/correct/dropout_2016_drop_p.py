"""Inverted dropout from a 2016 starter, where p is the probability of dropping a unit, with a
boolean mask cached and the scaling done again in backward."""

import numpy as np

from reference import *  # noqa: F403


def dropout_forward(x, dropout_param):
    """
    Performs the forward pass for (inverted) dropout.

    Inputs:
    - x: Input data, of any shape
    - dropout_param: A dictionary with the following keys:
      - p: Dropout parameter. We drop each neuron output with probability p.
      - mode: 'test' or 'train'.
      - seed: Seed for the random number generator.
    """
    p, mode = dropout_param["p"], dropout_param["mode"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])
    mask = None
    if mode == "train":
        mask = np.random.rand(*x.shape) >= p
        out = x * mask / (1 - p)
    else:
        out = x
    out = out.astype(x.dtype, copy=False)
    return out, (dropout_param, mask)


def dropout_backward(dout, cache):
    dropout_param, mask = cache
    if dropout_param["mode"] == "train":
        return dout * mask / (1 - dropout_param["p"])
    return dout
