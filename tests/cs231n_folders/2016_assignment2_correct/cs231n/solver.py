import numpy as np

from cs231n import optim


class Solver(object):
  def __init__(self, model, data, **kwargs):
    self.model = model
    print 'Solver ready'
