"""A micrograd-style engine (written for bpverify's tests) with the lecture's own tanh,
(e^2x - 1) / (e^2x + 1) with math.exp: right wherever a net uses it, OverflowError from |x| ~ 355.
The optional last lines stand for a script that plots and trains at import (PLOTS, TRAINS)."""

import math

#: exp's closure overwrites (=): whether a fan-out loses a share depends on the order in
#: which a set of children is walked
EXP_OVERWRITES = False

class Value:
    def __init__(self, data, _children=()):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = set(_children)

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other))
        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other))
        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def tanh(self):
        x = self.data
        t = (math.exp(2*x) - 1)/(math.exp(2*x) + 1)
        out = Value(t, (self,))
        def _backward():
            self.grad += (1 - t**2) * out.grad
        out._backward = _backward
        return out

    def exp(self):
        out = Value(math.exp(self.data), (self,))
        def _backward():
            if EXP_OVERWRITES:  # seen in the field: right or wrong by the order of a set
                self.grad = out.data * out.grad
                return
            self.grad += out.data * out.grad
        out._backward = _backward
        return out

    def backward(self):
        topo, seen = [], set()
        def build(v):
            if v not in seen:
                seen.add(v)
                for c in v._prev:
                    build(c)
                topo.append(v)
        build(self)
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()


PLOTS = False
TRAINS = False
if PLOTS:  # a learner's script draws at import: matplotlib is not installed where it grades
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2)
    xs = [x / 10 for x in range(-30, 30)]
    ax1.plot(xs, [Value(x).tanh().data for x in xs])
    with plt.style.context("ggplot"):
        plt.title("tanh")
    plt.show()
if TRAINS:  # ... or trains for longer than a worker's call may take
    while True:
        w = Value(0.5) * Value(2.0)
        w.backward()
