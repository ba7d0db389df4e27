from __future__ import print_function
from builtins import zip
from builtins import range
from past.builtins import xrange

import matplotlib
import numpy as np
from scipy.ndimage import uniform_filter


def hog_feature(im):
    return uniform_filter(np.asarray(im, dtype=float), size=3).ravel()
