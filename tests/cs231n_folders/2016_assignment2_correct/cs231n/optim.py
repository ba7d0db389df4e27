import numpy as np

"""
This file implements various first-order update rules that are commonly used for
training neural networks. Each update rule accepts current weights and the
gradient of the loss with respect to those weights and produces the next set of
weights. Each update rule has the same interface:

def update(x, dx, config=None):

Inputs:
  - x: A numpy array giving the current weights.
  - dx: A numpy array of the same shape as x giving the gradient of the
    loss with respect to x.
  - config: A dictionary containing hyperparameter values such as learning rate,
    momentum, etc. If the update rule requires caching values over many
    iterations, then config will also hold these cached values.

Returns:
  - next_x: The next point after the update.
  - config: The config dictionary to be passed to the next iteration of the
    update rule.
"""


def sgd(x, dx, config=None):
  if config is None: config = {}
  config.setdefault('learning_rate', 1e-2)

  x -= config['learning_rate'] * dx
  return x, config


def sgd_momentum(x, dx, config=None):
  if config is None: config = {}
  config.setdefault('learning_rate', 1e-2)
  config.setdefault('momentum', 0.9)
  v = config.get('velocity', np.zeros_like(x))

  next_x = None
  v = config['momentum'] * v - config['learning_rate'] * dx
  next_x = x + v
  config['velocity'] = v

  return next_x, config


def rmsprop(x, dx, config=None):
  if config is None: config = {}
  config.setdefault('learning_rate', 1e-2)
  config.setdefault('decay_rate', 0.99)
  config.setdefault('epsilon', 1e-8)
  config.setdefault('cache', np.zeros_like(x))

  next_x = None
  config['cache'] = config['decay_rate'] * config['cache'] + (1 - config['decay_rate']) * dx**2
  next_x = x - config['learning_rate'] * dx / (np.sqrt(config['cache']) + config['epsilon'])

  return next_x, config


def adam(x, dx, config=None):
  if config is None: config = {}
  config.setdefault('learning_rate', 1e-3)
  config.setdefault('beta1', 0.9)
  config.setdefault('beta2', 0.999)
  config.setdefault('epsilon', 1e-8)
  config.setdefault('m', np.zeros_like(x))
  config.setdefault('v', np.zeros_like(x))
  config.setdefault('t', 1)

  next_x = None
  config['t'] += 1
  config['m'] = config['beta1'] * config['m'] + (1 - config['beta1']) * dx
  config['v'] = config['beta2'] * config['v'] + (1 - config['beta2']) * dx**2
  mb = config['m'] / (1 - config['beta1']**config['t'])
  vb = config['v'] / (1 - config['beta2']**config['t'])
  next_x = x - config['learning_rate'] * mb / (np.sqrt(vb) + config['epsilon'])

  return next_x, config
