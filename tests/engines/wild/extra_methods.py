"""A micrograd-style engine (written for bpverify's tests) that adds methods beyond the usual
operations: softplus(), leaky_relu(slope), linear(w, b), clamp(lo, hi) (a kink where it clips)
and detach() (a new leaf, cut off on purpose).  Correct as written; the tests flip the flags
to plant the mistakes seen in the field."""

import math

#: softplus's closure overwrites its input's gradient (=) instead of adding to it (+=)
SOFTPLUS_OVERWRITES = False
#: linear's closure forgets the upstream gradient for w
LINEAR_NO_UPSTREAM = False


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

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def softplus(self):
        out = Value(math.log1p(math.exp(self.data)), (self,))

        def _backward():
            share = out.grad / (1 + math.exp(-self.data))
            if SOFTPLUS_OVERWRITES:
                self.grad = share
            else:
                self.grad += share
        out._backward = _backward
        return out

    def leaky_relu(self, slope):
        out = Value(self.data if self.data > 0 else slope * self.data, (self,))

        def _backward():
            self.grad += (1.0 if self.data > 0 else slope) * out.grad
        out._backward = _backward
        return out

    def linear(self, w, b):
        out = Value(self.data * w.data + b.data, (self, w, b))

        def _backward():
            self.grad += w.data * out.grad
            w.grad += self.data * (1.0 if LINEAR_NO_UPSTREAM else out.grad)
            b.grad += out.grad
        out._backward = _backward
        return out

    def clamp(self, lo, hi):
        lo, hi = min(lo, hi), max(lo, hi)
        out = Value(min(max(self.data, lo), hi), (self,))

        def _backward():
            self.grad += (1.0 if lo < self.data < hi else 0.0) * out.grad
        out._backward = _backward
        return out

    def detach(self):
        return Value(self.data)

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
