"""Helpers beside layers.py (written for bpverify's tests, in the style of the book's common/)."""

import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))
