"""Behaviour of bpverify.gradcheck.check_gradient, through its public API.

No test here is timed; "fast" is asserted as a count of evaluations of f.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bpverify.gradcheck import (
    GradCheckInputError,
    GradCheckResult,
    GradMismatch,
    KinkElement,
    check_gradient,
)

# Hypothesis budgets: each example runs a full check, so keep them small
# enough for the whole file to stay well under 20 s on 2 cores.
FEW = settings(max_examples=25, deadline=None)
SOME = settings(max_examples=40, deadline=None)


# --------------------------------------------------------------------------- #
# Functions with known gradients
# --------------------------------------------------------------------------- #


def quadratic(a: np.ndarray):
    def f(x):
        return 0.5 * float(x.ravel() @ a @ x.ravel())

    def grad(x):
        return (a @ x.ravel()).reshape(x.shape)

    return f, grad


def softmax_loss(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    scores = x @ w
    scores = scores - scores.max(axis=1, keepdims=True)
    log_probs = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(y)), y].mean())


def softmax_grad(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    scores = x @ w
    scores = scores - scores.max(axis=1, keepdims=True)
    probs = np.exp(scores)
    probs /= probs.sum(axis=1, keepdims=True)
    probs[np.arange(len(y)), y] -= 1.0
    return x.T @ probs / len(y)


def two_layer_net(x, y, dtype=np.float64, reg=0.0):
    """CS231n two-layer ReLU net with softmax loss: (f, grad) over (W1, b1, W2, b2)."""

    def f(w1, b1, w2, b2):
        xd = x.astype(dtype)
        z = xd @ w1.astype(dtype) + b1.astype(dtype)
        s = np.maximum(z, 0) @ w2.astype(dtype) + b2.astype(dtype)
        s = s - s.max(axis=1, keepdims=True)
        logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
        data = -logp[np.arange(len(y)), y].mean()  # in `dtype`
        if reg:  # a float64 regulariser: float64 output whatever `dtype` is
            return data + 0.5 * reg * (np.sum(w1 * w1) + np.sum(w2 * w2))
        return data

    def grad(w1, b1, w2, b2):
        z = x @ w1 + b1
        h = np.maximum(z, 0)
        s = h @ w2 + b2
        s = s - s.max(axis=1, keepdims=True)
        p = np.exp(s)
        p /= p.sum(axis=1, keepdims=True)
        p[np.arange(len(y)), y] -= 1.0
        ds = p / len(y)
        dh = ds @ w2.T
        dz = dh * (z > 0)
        return [x.T @ dz + reg * w1, dz.sum(0), h.T @ ds + reg * w2, ds.sum(0)]

    return f, grad


def random_net(seed, n=4, d=6, h=5, c=3, wstd=0.5, kink_dense=False, dtype=np.float64, reg=0.0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    y = rng.integers(0, c, n)
    params = [
        wstd * rng.standard_normal((d, h)),
        0.1 * rng.standard_normal(h),
        wstd * rng.standard_normal((h, c)),
        0.1 * rng.standard_normal(c),
    ]
    if kink_dense:
        # Every hidden pre-activation of the first sample is exactly zero.
        x[0] = 0.0
        params[1][:] = 0.0
    f, grad = two_layer_net(x, y, dtype=dtype, reg=reg)
    return f, params, grad(*params)


def perturb(grads, picks, rng):
    """Copy grads and make the elements in picks clearly wrong."""
    wrong = [g.copy() for g in grads]
    for a, index in picks:
        scale = max(abs(wrong[a][index]), float(np.sqrt(np.mean(grads[a] ** 2))), 1e-3)
        wrong[a][index] += scale * rng.uniform(0.5, 2.0) * rng.choice([-1.0, 1.0])
    return wrong


def named(result: GradCheckResult) -> set[tuple[int, tuple[int, ...]]]:
    return {(m.arg, m.index) for m in result.mismatches}


# --------------------------------------------------------------------------- #
# Correct gradients pass
# --------------------------------------------------------------------------- #


@SOME
@given(
    x=hnp.arrays(np.float64, hnp.array_shapes(max_dims=2, max_side=6), elements=st.floats(-3, 3)),
    seed=st.integers(0, 2**16),
)
def test_correct_quadratic_passes(x, seed):
    rng = np.random.default_rng(seed)
    m = rng.standard_normal((x.size, x.size))
    f, grad = quadratic(m @ m.T + np.eye(x.size))
    result = check_gradient(f, [x], [grad(x)], seed=seed)
    assert result.ok, result.summary()
    assert not result.mismatches


@SOME
@given(
    x=hnp.arrays(np.float64, st.integers(1, 300), elements=st.floats(-2, 2)),
    seed=st.integers(0, 2**16),
)
def test_correct_exp_and_log_sum_exp_pass(x, seed):
    # Both sides of elementwise_limit: small arrays are judged element by
    # element, larger ones by random directions.
    def f(v):
        return float(np.sum(np.exp(0.5 * v)) + np.log(np.sum(np.exp(v))))

    grad = 0.5 * np.exp(0.5 * x) + np.exp(x) / np.sum(np.exp(x))
    result = check_gradient(f, [x], [grad], seed=seed)
    assert result.ok, result.summary()


@FEW
@given(seed=st.integers(0, 2**16), n=st.integers(1, 6), classes=st.integers(2, 5))
def test_correct_softmax_loss_passes(seed, n, classes):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4))
    y = rng.integers(0, classes, n)
    w = rng.standard_normal((4, classes))
    result = check_gradient(
        lambda w_: softmax_loss(x, y, w_), [w], [softmax_grad(x, y, w)], seed=seed
    )
    assert result.ok, result.summary()


@FEW
@given(seed=st.integers(0, 2**16))
def test_correct_small_relu_net_passes(seed):
    f, params, grads = random_net(seed)
    result = check_gradient(f, params, grads, seed=seed)
    assert result.ok, result.summary()
    assert result.directions_checked == 0  # 59 elements: judged one by one


def test_correct_medium_relu_net_passes_with_random_directions():
    for seed in range(5):
        f, params, grads = random_net(seed, n=8, d=200, h=30, c=5, wstd=0.1)
        result = check_gradient(f, params, grads, seed=seed)
        assert result.ok, result.summary()
        assert result.directions_checked >= 1


def test_max_with_exact_ties_never_fails():
    x = np.array([1.0, 1.0, 0.0, 1.0])
    # Any convex combination of the tied entries is a valid (sub)gradient.
    for claimed in ([1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [1 / 3, 1 / 3, 0, 1 / 3]):
        result = check_gradient(lambda v: float(np.max(v)), [x], [np.array(claimed, float)])
        assert result.ok, result.summary()
    result = check_gradient(lambda v: float(np.max(v)), [x], [np.array([1.0, 0, 0, 0])])
    assert {k.index for k in result.kinks} <= {(0,), (1,), (3,)}
    assert all(k.in_subgradient for k in result.kinks)


def test_relu_at_exact_zero_is_a_kink_inside_the_subgradient():
    x = np.array([0.0, 2.0, -1.0])
    result = check_gradient(
        lambda v: float(np.sum(np.maximum(v, 0))), [x], [np.array([0.0, 1.0, 0.0])]
    )
    assert result.ok, result.summary()
    assert [k.index for k in result.kinks] == [(0,)]
    (kink,) = result.kinks
    assert isinstance(kink, KinkElement)
    assert kink.judged and kink.in_subgradient
    assert kink.left_slope == pytest.approx(0.0, abs=1e-6)
    assert kink.right_slope == pytest.approx(1.0, abs=1e-6)


def test_svm_hinge_with_zero_margins_never_fails():
    # Multiclass SVM loss where every margin is exactly zero (W = 0, delta 0).
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 4))
    y = rng.integers(0, 3, 5)

    def svm(w):
        s = x @ w
        margins = np.maximum(0.0, s - s[np.arange(5), y][:, None])
        margins[np.arange(5), y] = 0.0
        return float(margins.sum() / 5)

    w = np.zeros((4, 3))
    for claimed in (np.zeros_like(w), None):
        if claimed is None:  # the usual "margins > 0" backward: also zero here
            claimed = np.zeros_like(w)
        result = check_gradient(svm, [w], [claimed])
        assert result.ok, result.summary()
        assert not result.mismatches


@FEW
@given(seed=st.integers(0, 2**16))
def test_kink_dense_relu_net_never_fails(seed):
    f, params, grads = random_net(seed, kink_dense=True)
    result = check_gradient(f, params, grads, seed=seed)
    assert result.ok, result.summary()
    assert not result.mismatches
    # The kinks found are all in b1, the only argument that moves the first
    # sample's (zero) pre-activations.
    assert all(k.arg == 1 for k in result.kinks)


def test_kink_dense_medium_net_reports_kinks_not_mismatches():
    f, params, grads = random_net(1, n=8, d=200, h=30, c=5, wstd=0.1, kink_dense=True)
    result = check_gradient(f, params, grads)
    assert result.ok, result.summary()
    assert not result.mismatches
    assert result.kinks and all(k.arg == 1 and k.in_subgradient for k in result.kinks)


# --------------------------------------------------------------------------- #
# float32 forwards
# --------------------------------------------------------------------------- #


def test_float32_forward_with_correct_gradients_passes():
    for seed in range(4):
        for size in ({}, {"n": 8, "d": 200, "h": 30, "c": 5, "wstd": 0.1}):
            f, params, grads = random_net(seed, dtype=np.float32, **size)
            result = check_gradient(f, params, grads, seed=seed)
            assert result.ok, result.summary()
            assert result.dtype == "float32"


def test_float32_arguments_and_gradients_pass():
    rng = np.random.default_rng(3)
    x = rng.standard_normal(500).astype(np.float32)

    def f(v):
        return np.float32(np.sum(np.tanh(v) ** 2))

    grad = (2 * np.tanh(x) * (1 - np.tanh(x) ** 2)).astype(np.float32)
    result = check_gradient(f, [x], [grad])
    assert result.ok, result.summary()
    assert result.dtype == "float32"


def test_float32_internals_behind_a_float64_output_pass_with_precision_hint():
    # The loss is computed in float32, the regulariser in float64, so the
    # output is float64 although the forward is only float32-accurate; its
    # dtypes cannot say so, precision= does.
    for seed in range(3):
        f, params, grads = random_net(
            seed, n=8, d=200, h=30, c=5, wstd=0.1, dtype=np.float32, reg=0.1
        )
        result = check_gradient(f, params, grads, seed=seed, precision="float32")
        assert result.ok, result.summary()
        assert result.dtype == "float32"


# --------------------------------------------------------------------------- #
# Wrong elements are named
# --------------------------------------------------------------------------- #


@SOME
@given(seed=st.integers(0, 2**16), size=st.integers(1, 2000))
def test_single_wrong_element_is_named(seed, size):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(size)
    f, grad = (lambda v: float(np.sum(np.sin(v)) + 0.5 * v @ v)), np.cos(x) + x
    index = (int(rng.integers(size)),)
    wrong = perturb([grad], [(0, index)], rng)
    result = check_gradient(f, [x], wrong, seed=seed)
    assert not result.ok
    assert named(result) == {(0, index)}, result.summary()
    (m,) = result.mismatches
    assert isinstance(m, GradMismatch)
    assert m.expected == pytest.approx(grad[index], rel=1e-6, abs=1e-8)
    assert m.got == wrong[0][index]
    assert m.abs_error == pytest.approx(abs(m.got - m.expected))
    assert m.rel_error == pytest.approx(m.abs_error / (abs(m.got) + abs(m.expected)))


@FEW
@given(seed=st.integers(0, 2**16))
def test_wrong_element_in_small_relu_net_is_named(seed):
    rng = np.random.default_rng(seed)
    f, params, grads = random_net(seed)
    a = int(rng.integers(4))
    index = tuple(int(rng.integers(s)) for s in params[a].shape)
    result = check_gradient(f, params, perturb(grads, [(a, index)], rng), seed=seed)
    assert named(result) == {(a, index)}, result.summary()


def test_five_scattered_wrong_elements_are_all_named():
    for seed in range(3):
        rng = np.random.default_rng(seed)
        f, params, grads = random_net(seed, n=8, d=300, h=40, c=5, wstd=0.1)
        sizes = [p.size for p in params]
        flat = rng.choice(sum(sizes), 5, replace=False)
        picks = []
        for k in flat:
            a = 0
            while k >= sizes[a]:
                k -= sizes[a]
                a += 1
            picks.append((a, tuple(int(j) for j in np.unravel_index(k, params[a].shape))))
        result = check_gradient(f, params, perturb(grads, picks, rng), seed=seed)
        assert named(result) == set(picks), result.summary()


def test_whole_wrong_argument_is_found_in_a_kink_dense_net():
    f, params, grads = random_net(2, kink_dense=True)
    wrong = [g.copy() for g in grads]
    wrong[3] *= 2.0  # b2 gradient doubled: every element of arg 3 wrong
    result = check_gradient(f, params, wrong)
    assert not result.ok
    assert {m.arg for m in result.mismatches} == {3}
    assert len(result.mismatches) == params[3].size


# --------------------------------------------------------------------------- #
# Cost: far fewer evaluations than an element-by-element check
# --------------------------------------------------------------------------- #


def test_evaluation_counts_are_far_below_2n():
    rng = np.random.default_rng(7)
    n = 50_000
    x = rng.standard_normal(n)
    grad = np.cos(x) + x

    def f(v):
        return float(np.sum(np.sin(v)) + 0.5 * v @ v)

    correct = check_gradient(f, [x], [grad])
    assert correct.ok
    assert correct.evaluations <= 10  # 2 per passing direction

    wrong = perturb([grad], [(0, (12345,))], rng)
    one = check_gradient(f, [x], wrong)
    assert named(one) == {(0, (12345,))}
    assert one.evaluations < 300  # O(log n) probes; 2n would be 100,000


# --------------------------------------------------------------------------- #
# Contract: copies, determinism, scalars, budget, results
# --------------------------------------------------------------------------- #


def test_f_gets_fresh_copies_and_args_are_left_alone():
    x = np.arange(1.0, 7.0).reshape(2, 3)
    original = x.copy()
    seen = []

    def mutating(v):
        value = float(np.sum(v**2))
        seen.append(v)
        v *= 100.0  # untrusted code that scribbles on its input
        return value

    result = check_gradient(mutating, [x], [2 * x])
    assert result.ok, result.summary()
    np.testing.assert_array_equal(x, original)
    assert len({id(v) for v in seen}) == len(seen)  # a new array every call


def test_same_seed_same_result():
    f, params, grads = random_net(5, n=8, d=200, h=30, c=5, wstd=0.1, kink_dense=True)
    wrong = perturb(grads, [(0, (3, 4))], np.random.default_rng(0))
    first = check_gradient(f, params, wrong, seed=11)
    second = check_gradient(f, params, wrong, seed=11)
    assert first == second


def test_python_floats_and_numpy_scalars_as_arguments():
    def f(a, b, c):
        assert isinstance(a, float) and isinstance(b, np.float64) and c.shape == ()
        return a * a * float(b) + np.sin(float(c))

    result = check_gradient(f, [1.5, np.float64(-2.0), np.array(0.3)], [-6.0, 2.25, np.cos(0.3)])
    assert result.ok, result.summary()
    wrong = check_gradient(f, [1.5, np.float64(-2.0), np.array(0.3)], [-6.0, 2.0, np.cos(0.3)])
    assert named(wrong) == {(1, ())}


def test_size_one_array_output_is_accepted():
    result = check_gradient(
        lambda v: np.array([[np.sum(v**3)]]), [np.array([1.0, 2.0])], [np.array([3.0, 12.0])]
    )
    assert result.ok, result.summary()


def test_budget_exhaustion_is_reported_and_fails_a_seen_mismatch():
    rng = np.random.default_rng(1)
    x = rng.standard_normal(20_000)
    grad = 2 * x
    grad[777] += 1.0
    # Enough to see and confirm the disagreement, not to locate it.
    result = check_gradient(lambda v: float(v @ v), [x], [grad], max_evaluations=40)
    assert not result.ok
    assert result.evaluations == 40
    assert any(r.reason == "mismatch" for r in result.unresolved)
    assert "budget" in result.summary()
    # Running out before any verdict leaves everything unresolved, not passed.
    early = check_gradient(lambda v: float(v @ v), [x], [grad], max_evaluations=3)
    assert early.unresolved and early.unresolved[0].elements == x.size


def test_results_are_frozen_and_summary_names_the_elements():
    x = np.zeros((4, 2))
    grad = np.zeros((4, 2))
    grad[3, 0] = 0.25

    def f(a, w):
        return float(np.sum(a**2) + np.sum(w**2) + 0.123 * w[3, 0])

    grad_ok = grad.copy()
    grad_ok[3, 0] = 0.123
    result = check_gradient(f, [np.ones(1), x], [2 * np.ones(1), grad])
    assert not result.ok
    text = result.summary()
    assert "arg 1 (index (3, 0)): expected 0.123 (numerical), got 0.25, rel. error 0.34" in text
    assert str(result) == text
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.ok = True  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.mismatches[0].got = 0.0  # type: ignore[misc]
    assert check_gradient(f, [np.ones(1), x], [2 * np.ones(1), grad_ok]).ok


# --------------------------------------------------------------------------- #
# Input validation: clear errors at the boundary
# --------------------------------------------------------------------------- #


def _sq(*vs):
    return float(sum(np.sum(np.asarray(v) ** 2) for v in vs))


@pytest.mark.parametrize(
    ("args", "grads", "match"),
    [
        ([np.ones(3)], [np.ones(3), np.ones(3)], r"got 2 gradient\(s\) for 1 argument\(s\)"),
        ([np.ones(3)], [np.ones(4)], r"grads\[0\] has shape \(4,\), expected \(3,\)"),
        (
            [np.ones(3), np.ones((2, 2))],
            [np.ones(3), None],
            r"grads\[1\] is None; expected an array of shape \(2, 2\)",
        ),
        (
            [np.ones(3)],
            [np.array([1.0, np.nan, 1.0])],
            r"grads\[0\] contains 1 NaN/infinite value\(s\) \(first at index \(1,\)\)",
        ),
        ([np.array([1.0, np.inf])], [np.ones(2)], r"args\[0\] contains NaN or infinity"),
        ([np.arange(3)], [np.ones(3)], r"args\[0\] has dtype int64; expected a floating dtype"),
        ([None], [np.ones(3)], r"args\[0\] is None"),
        ([np.ones(3)], [np.ones(3, dtype=complex)], r"grads\[0\] has dtype complex128"),
        (np.ones(3), [np.ones(3)], r"args is ndarray; expected a sequence"),
        ([np.ones(3)], [[1.0, [2.0]]], r"grads\[0\] cannot be read as an array"),
    ],
)
def test_bad_input_raises_a_clear_error(args, grads, match):
    with pytest.raises(GradCheckInputError, match=match):
        check_gradient(_sq, args, grads)


def test_input_error_is_a_value_error():
    assert issubclass(GradCheckInputError, ValueError)


@pytest.mark.parametrize(
    ("f", "match"),
    [
        (lambda v: v * 2.0, r"f returned an array of shape \(3,\); expected a scalar"),
        (lambda v: float("nan"), r"f\(\*args\) returned nan"),
        (lambda v: "loss", r"f returned str"),
        (None, r"f is NoneType; expected a callable"),
    ],
)
def test_bad_f_raises_a_clear_error(f, match):
    with pytest.raises(GradCheckInputError, match=match):
        check_gradient(f, [np.ones(3)], [np.ones(3)])


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("seed", -1),
        ("directions", 0),
        ("max_evaluations", 0),
        ("elementwise_limit", 1.5),
        ("precision", "float128"),
    ],
)
def test_bad_options_raise(option, value):
    with pytest.raises(GradCheckInputError, match=f"{option}="):
        check_gradient(_sq, [np.ones(3)], [2 * np.ones(3)], **{option: value})


def test_exceptions_inside_f_propagate():
    def broken(v):
        raise ZeroDivisionError("student bug")

    with pytest.raises(ZeroDivisionError, match="student bug"):
        check_gradient(broken, [np.ones(3)], [np.ones(3)])


def test_a_check_inside_f_does_not_disturb_the_outer_check():
    # Work arrays are reused between calls; a check started from inside f
    # (here on a larger problem, to reuse the same buffer names) must not
    # overwrite the outer check's.
    inner_x = np.linspace(-1.0, 1.0, 300)

    def f(v):
        inner = check_gradient(lambda w: float(np.sum(w**3)), [inner_x], [3 * inner_x**2])
        assert inner.ok
        return float(np.sum(np.sin(v)))

    x = np.linspace(0.0, 2.0, 500)
    assert check_gradient(f, [x], [np.cos(x)]).ok
    wrong = np.cos(x)
    wrong[123] += 1.0
    assert named(check_gradient(f, [x], [wrong])) == {(0, (123,))}


# --------------------------------------------------------------------------- #
# A batched evaluator (f_many) changes the number of calls, never the result
# --------------------------------------------------------------------------- #


def batched(f, limit=None):
    """(f_many, calls): f over a list of argument lists, answering at most ``limit`` of them."""
    calls = []

    def f_many(points):
        calls.append(len(points))
        return [f(*p) for p in points[:limit]]

    return f_many, calls


def counting(f):
    calls = []

    def counted(*args):
        calls.append(1)
        return f(*args)

    return counted, calls


def f_many_problems():
    """(f, args, grads, options): correct, wrong element, kinks, float32, large, precision hint."""
    rng = np.random.default_rng(7)
    f, params, grads = random_net(1)
    yield f, params, grads, {}
    yield f, params, perturb(grads, [(0, (2, 3)), (3, (1,))], rng), {"seed": 3}
    f, params, grads = random_net(2, kink_dense=True)
    yield f, params, grads, {"seed": 5}
    relu = lambda v: float(np.sum(np.maximum(v, 0)))  # noqa: E731
    yield relu, [np.array([0.0, 2.0, -1.0])], [np.array([0.0, 1.0, 0.0])], {}
    yield relu, [np.array([0.0, 2.0, -1.0])], [np.array([3.0, 1.0, 0.0])], {"strict_kinks": True}
    f, params, grads = random_net(3, dtype=np.float32)
    yield f, params, grads, {}
    f, params, grads = random_net(4, n=8, d=40, h=12, c=5)
    yield f, params, perturb(grads, [(2, (5, 1))], rng), {"seed": 9}
    f, params, grads = random_net(5, n=8, d=40, h=12, c=5, dtype=np.float32, reg=0.1)
    yield f, params, grads, {"precision": "float32"}
    x = np.linspace(-1.0, 1.0, 30)
    yield (lambda v: float(np.sum(np.sin(v)))), [x], [np.cos(x)], {"max_evaluations": 25}


@pytest.mark.parametrize("limit", [None, 3])
def test_f_many_gives_the_same_result_with_fewer_calls(limit):
    for f, args, grads, options in f_many_problems():
        alone = check_gradient(f, args, grads, **options)
        counted, single_calls = counting(f)
        f_many, batches = batched(f, limit)
        both = check_gradient(counted, args, grads, f_many=f_many, **options)
        assert both == alone, (alone.summary(), both.summary())
        assert batches, "f_many was never used"
        assert len(single_calls) + len(batches) < alone.evaluations


def test_f_many_that_raises_leaves_the_single_calls_to_tell():
    f, params, grads = random_net(1)

    def broken_many(points):
        raise ZeroDivisionError("batch")

    assert check_gradient(f, params, grads, f_many=broken_many) == check_gradient(f, params, grads)

    def broken(*args):
        raise KeyError("student bug")

    with pytest.raises(KeyError, match="student bug"):
        check_gradient(broken, params, grads, f_many=broken_many)
    with pytest.raises(GradCheckInputError, match="f_many is int"):
        check_gradient(f, params, grads, f_many=3)


def test_screening_first_finds_the_mismatches_judging_every_element_finds():
    # The grader's numerical checks (screen_first=True) probe one random direction before
    # judging elements one by one: what is wrong is found all the same, only faster when
    # nothing is.
    for f, args, grads, options in f_many_problems():
        every = check_gradient(f, args, grads, **options)
        screened = check_gradient(f, args, grads, screen_first=True, **options)
        assert named(screened) == named(every), (every.summary(), screened.summary())
        assert not screened.ok or every.ok or every.unresolved
    x = np.linspace(-1.0, 1.0, 30)
    f = lambda v: float(np.sum(np.sin(v)))  # noqa: E731
    assert check_gradient(f, [x], [np.cos(x)], screen_first=True).evaluations == 2
    assert check_gradient(f, [x], [np.cos(x)]).evaluations >= 2 * x.size
    wrong = np.cos(x)
    wrong[7] += 0.5
    assert named(check_gradient(f, [x], [wrong], screen_first=True)) == {(0, (7,))}
