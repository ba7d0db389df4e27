from __future__ import print_function

from builtins import range
from six.moves import cPickle as pickle
import numpy as np
import os
from imageio import imread
import platform


def load_pickle(f):
    return pickle.load(f, encoding="latin1")


def load_image(path):
    return imread(path)
