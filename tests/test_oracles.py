"""The JAX oracle, padded to shape buckets, agrees with plain NumPy formulas on any shape."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from bpverify import strategies
from bpverify.grading import oracles


@given(strategies.affine_cases())
def test_affine_oracle_matches_numpy(case: dict) -> None:
    x, w, b, dout = case["x"], case["w"], case["b"], case["dout"]
    out, (dx, dw, db) = oracles.affine(x, w, b, dout)
    x2 = x.reshape(x.shape[0], -1)
    np.testing.assert_allclose(out, x2 @ w + b, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, (dout @ w.T).reshape(x.shape), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dw, x2.T @ dout, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(db, dout.sum(axis=0), rtol=1e-12, atol=1e-12)


@given(strategies.loss_cases("softmax_loss"))
def test_softmax_oracle_matches_numpy(case: dict) -> None:
    s, y = case["scores"], case["y"]
    value, ds = oracles.loss("softmax_loss", s, y)
    p = np.exp(s - s.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    n = len(y)
    assert np.isclose(value, -np.log(p[np.arange(n), y]).mean(), rtol=1e-10)
    p[np.arange(n), y] -= 1
    np.testing.assert_allclose(ds, p / n, rtol=1e-9, atol=1e-12)


@given(strategies.loss_cases("svm_loss"))
def test_svm_oracle_matches_numpy_away_from_ties(case: dict) -> None:
    s, y = case["scores"], case["y"]
    n = len(y)
    margins = s - s[np.arange(n), y][:, None] + 1.0
    margins[np.arange(n), y] = 0.0
    value, ds = oracles.loss("svm_loss", s, y)
    assert np.isclose(value, np.maximum(0, margins).sum() / n, rtol=1e-12)
    active = (margins > 0).astype(float)
    active[np.arange(n), y] = -active.sum(axis=1)
    np.testing.assert_allclose(ds, active / n, atol=1e-15)


@given(strategies.gate_cases("MultiplyGate"))
def test_gate_oracle_keeps_shapes_and_scalars(case: dict) -> None:
    out, (dx, dy) = oracles.gate("MultiplyGate", [case["x"], case["y"]], None, case["dout"])
    assert np.shape(out) == np.shape(case["x"]) == np.shape(dx) == np.shape(dy)
    # XLA flushes subnormal results to zero, hence the tiny atol.
    np.testing.assert_allclose(dx, np.asarray(case["y"]) * case["dout"], rtol=1e-15,
                               atol=1e-300)


@given(st.sampled_from(["TwoLayerNet", "ThreeLayerNet"]).flatmap(
    lambda n: st.tuples(st.just(n), strategies.net_cases(n, reg=True))))
def test_net_oracle_matches_reference(named: tuple) -> None:
    import reference

    name, case = named
    layers = 2 if name == "TwoLayerNet" else 3
    dims = case["dims"]
    kwargs = {"hidden_dim": dims[1]} if layers == 2 else {"hidden_dims": tuple(dims[1:3])}
    net = getattr(reference, name)(dims[0], num_classes=dims[-1], reg=case["reg"], **kwargs)
    net.params = {k: v.copy() for k, v in case["params"].items()}
    h = case["X"]
    for i in range(1, layers):  # the reference's subgradient at 0 may differ: skip kinks
        h = h @ case["params"][f"W{i}"] + case["params"][f"b{i}"]
        if np.any(h == 0):
            return
        h = np.maximum(h, 0)
    loss, grads = net.loss(case["X"], case["y"])
    scores, value, expected = oracles.net(case["params"], case["X"], case["y"], case["reg"],
                                          layers)
    np.testing.assert_allclose(scores, net.loss(case["X"]), rtol=1e-10, atol=1e-12)
    assert np.isclose(value, loss, rtol=1e-10)
    for k, g in grads.items():
        np.testing.assert_allclose(expected[k], g, rtol=1e-8, atol=1e-12)


# --- speed machinery: buckets, the disk cache, warming ----------------------------------------


@given(st.integers(1, 600))
def test_buckets_are_powers_of_two_from_the_floor(n: int) -> None:
    b = oracles._bucket(n, 128)
    assert b >= max(n, 128) and b & (b - 1) == 0 and (b == 128 or b < 2 * n)


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv(oracles.CACHE_ENV, str(tmp_path / "jax"))
    assert oracles.cache_dir() == tmp_path / "jax"
    for off in ("off", "0", ""):
        monkeypatch.setenv(oracles.CACHE_ENV, off)
        assert oracles.cache_dir() is None
    monkeypatch.delenv(oracles.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert oracles.cache_dir() == tmp_path / "xdg" / "bpverify" / "jax"


def test_warm_compiles_the_buckets_the_checks_use() -> None:
    from bpverify.grading.rubric import load_rubric

    oracles.warm(load_rubric("default").item_names)
    warmed = set(oracles._READY)
    # The largest cases the strategies draw run on programs warm() already compiled.
    oracles.affine(np.ones((4, 3, 3, 3)), np.ones((27, 27)), np.ones(27), np.ones((4, 27)))
    oracles.relu(np.ones((4, 4, 4, 4)), np.ones((4, 4, 4, 4)))
    oracles.gate("MaxGate", [np.ones((3, 3, 3, 3))] * 2, None, np.ones((3, 3, 3, 3)))
    oracles.loss("svm_loss", np.ones((5, 5)), np.zeros(5, dtype=np.int64))
    assert set(oracles._READY) == warmed
    assert any(k[0] == "net" for k in warmed) and any(k[0] == "gate" for k in warmed)


def test_oracles_compute_in_float64_while_the_users_jax_stays_float32() -> None:
    """The oracles' settings are scoped to their own calls (issue 22): float64 inside, the
    user's float32 default outside."""
    import jax
    import jax.numpy as jnp

    tiny = 1.0 + 2.0**-40  # float32 rounds it to 1.0
    x, dout = np.array([[tiny]]), np.array([[tiny]])
    out, (dx, dw, _) = oracles.affine(x, np.ones((1, 1)), np.zeros(1), dout)
    assert out.dtype == dw.dtype == np.float64
    assert out[0, 0] == tiny and dw[0, 0] == tiny * tiny and dx[0, 0] == tiny
    value, (g,) = oracles.gate("ExpGate", [np.array([tiny])], None, np.array([1.0]))
    assert value[0] == np.exp(tiny) and g[0] == np.exp(tiny)
    assert jnp.ones(2).dtype == jnp.float32 and not jax.config.jax_enable_x64
    assert (jnp.arange(3) * 0.5).dtype == jnp.float32


def test_recurrent_oracle_computes_in_float64_too() -> None:
    import jax.numpy as jnp

    from bpverify.families.recurrent.checks.oracle import temporal_softmax_loss

    a = 2.0**-40
    value, dx = temporal_softmax_loss(np.array([[[a, 0.0]]]), np.array([[0]]), np.array([[1]]))
    assert dx.dtype == np.float64
    assert abs(value - (np.log(2.0) - a / 2)) < 1e-15  # float32 would be off by ~1e-8
    assert jnp.ones(2).dtype == jnp.float32
