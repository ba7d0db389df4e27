import cPickle as pickle
import numpy as np
import os
from scipy.misc import imread


def load_CIFAR_batch(filename):
  """ load single batch of cifar """
  with open(filename, 'rb') as f:
    datadict = pickle.load(f)
    X = datadict['data']
    Y = datadict['labels']
    X = X.reshape(10000, 3, 32, 32).transpose(0,2,3,1).astype("float")
    return X, np.array(Y)


def load_tiny_imagenet(path):
  img = imread(os.path.join(path, 'x.JPEG'))
  print 'loaded', path
  return img
