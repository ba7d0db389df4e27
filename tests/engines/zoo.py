"""Engine mutants and correct variants, made from good.py by small text edits.

Each entry: the edits, the items it must fail (exactly), and the diagnosis (mistake id) each
failed item's first failure must carry.  Correct variants fail nothing.
"""
from __future__ import annotations

from pathlib import Path

GOOD = (Path(__file__).parent / "good.py").read_text()

OPS = {"Value +", "Value -", "Value *", "Value /", "Value **", "Value r+", "Value r-",
       "Value r*", "Value r/", "Value neg", "Value relu", "Value tanh", "Value exp",
       "Value log", "Value sigmoid"}
GRAPHS = {"Value graph", "Value fan-out", "Value deep chain"}

MUTANTS: dict[str, tuple[list[tuple[str, str]], dict[str, str]]] = {
    "overwrite": ([("self.grad += ", "self.grad = "), ("other.grad += ", "other.grad = ")],
                  {"Value fan-out": "engine-overwrite"}),
    "preorder-topo": ([("""                seen.add(v)
                for c in v._prev:
                    build(c)
                topo.append(v)""", """                seen.add(v)
                topo.append(v)
                for c in v._prev:
                    build(c)"""), ("for v in reversed(topo):", "for v in topo:")],
                      {"Value fan-out": "engine-order"}),
    "unseeded": ([("        self.grad = 1.0\n", "")],
                 dict.fromkeys(GRAPHS, "engine-unseeded")),
    "shadowed-backward": ([("out._backward = _backward", "out.backward = _backward"),
                           ("self._backward = lambda: None", "self.backward = lambda: None")],
                          dict.fromkeys(GRAPHS, "engine-shadowed")),
    "tanh-ignores-upstream": ([("(1 - t * t) * out.grad", "(1 - t * t)")],
                              {"Value tanh": "upstream-not-multiplied"}),
    "mul-wrong-operand": ([("self.grad += other.data * out.grad",
                            "self.grad += self.data * out.grad"),
                           ("other.grad += self.data * out.grad",
                            "other.grad += other.data * out.grad")],
                          # every operation good.py builds from * fails through it
                          {"Value *": "inputs-swapped"}
                          | dict.fromkeys(("Value r*", "Value neg", "Value -", "Value r-",
                                           "Value /", "Value r/"), "built-on-wrong")),
    "rsub-order": ([("return other + (-self)", "return self + (-other)")],
                   {"Value r-": "reflected-order"}),
    "rtruediv-order": ([("return other * self ** -1", "return self * other ** -1")],
                       {"Value r/": "reflected-order"}),
    "neg-detached": ([("    def __neg__(self):\n        return self * -1",
                       "    def __neg__(self):\n        return -self.data")],
                     {"Value neg": "engine-detached", "Value -": "built-on-wrong",
                      "Value r-": "built-on-wrong"}),
    # a - b as -(b - a): each calls the other forever; in-process too this must end in a
    # RecursionError, not overflow the C stack
    "sub-recurses": ([("        return self + (-other)\n\n    def __rsub__",
                       "        return -(other - self)\n\n    def __rsub__")],
                     {"Value -": "recursion"}),
    "no-import-math": ([("import math\n", "")],
                       {n: "missing-import" for n in ("Value tanh", "Value exp", "Value log",
                                                      "Value sigmoid")}),
}

VARIANTS: dict[str, list[tuple[str, str]]] = {
    "iterative-topo": [("""        def build(v):
            if v not in seen:
                seen.add(v)
                for c in v._prev:
                    build(c)
                topo.append(v)
        build(self)""", """        stack = [(self, False)]
        while stack:
            v, done = stack.pop()
            if done:
                topo.append(v)
            elif v not in seen:
                seen.add(v)
                stack.append((v, True))
                stack.extend((c, False) for c in v._prev)""")],
    "prev-set-grad-int": [("self._prev = list(_children)", "self._prev = set(_children)"),
                          ("self.grad = 0.0", "self.grad = 0"),
                          ("self.grad = 1.0", "self.grad = 1")],
    # - is one primitive, __rsub__ (its own closure, -= on the subtrahend); a - b and -a are
    # built from it: b.__rsub__(a) and 0 - a
    "sub-via-rsub-neg": [("""    def __neg__(self):
        return self * -1""", """    def __neg__(self):
        return 0 - self"""), ("""        return self + (-other)

    def __rsub__(self, other):
        return other + (-self)""", """        return self._wrap(other).__rsub__(self)

    def __rsub__(self, other):
        other = self._wrap(other)
        out = Value(other.data - self.data, (other, self), "-")

        def _backward():
            self.grad -= out.grad
            other.grad += out.grad
        out._backward = _backward
        return out""")],
    "no-tanh": [("    def tanh(self):", "    def _no_tanh(self):")],
}


def source(edits: list[tuple[str, str]]) -> str:
    text = GOOD
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    return text
