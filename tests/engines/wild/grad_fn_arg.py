"""An engine whose node closures are handed the upstream gradient, PyTorch style
(``_grad_fn(grad)``), with a correct topological backward (written for bpverify's tests)."""


class Value:
    def __init__(self, data, _children=(), _grad_fn=None):
        self.data = float(data)
        self.grad = 0.0
        self._prev = tuple(_children)
        self._grad_fn = _grad_fn

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)

        def _grad_fn(grad):
            self.grad += grad
            other.grad += grad
        return Value(self.data + other.data, (self, other), _grad_fn)

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)

        def _grad_fn(grad):
            self.grad += other.data * grad
            other.grad += self.data * grad
        return Value(self.data * other.data, (self, other), _grad_fn)

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def backward(self):
        order, seen = [], set()

        def visit(v):
            if id(v) not in seen:
                seen.add(id(v))
                for c in v._prev:
                    visit(c)
                order.append(v)
        visit(self)
        self.grad = 1.0
        for v in reversed(order):
            if v._grad_fn is not None:
                v._grad_fn(v.grad)
