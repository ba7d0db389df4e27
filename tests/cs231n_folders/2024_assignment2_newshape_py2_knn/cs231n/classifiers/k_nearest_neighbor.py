import numpy as np


class KNearestNeighbor(object):
  def train(self, X, y):
    self.X_train = X
    self.y_train = y

  def predict(self, X, k=1):
    print 'predicting', X.shape[0], 'examples'
    return np.zeros(X.shape[0])
