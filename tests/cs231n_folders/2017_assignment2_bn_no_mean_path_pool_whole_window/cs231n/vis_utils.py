from builtins import range
from past.builtins import xrange

from math import sqrt, ceil
import numpy as np


def visualize_grid(Xs, ubound=255.0, padding=1):
    (N, H, W, C) = Xs.shape
    grid_size = int(ceil(sqrt(N)))
    return np.zeros((grid_size * (H + padding), grid_size * (W + padding), C))
