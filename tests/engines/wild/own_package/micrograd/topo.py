"""Topological order of a learner's own engine (written for bpverify's tests)."""


def build_topo(root):
    order, seen = [], set()

    def visit(v):
        if v not in seen:
            seen.add(v)
            for child in v._prev:
                visit(child)
            order.append(v)

    visit(root)
    return order
