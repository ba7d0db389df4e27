from __future__ import print_function, division
from future import standard_library
standard_library.install_aliases()
from builtins import range
from builtins import object
import os
import pickle as pickle

import numpy as np

from cs231n import optim


class Solver(object):
    def __init__(self, model, data, **kwargs):
        self.model = model
        self.update_rule = getattr(optim, kwargs.pop('update_rule', 'sgd'))
