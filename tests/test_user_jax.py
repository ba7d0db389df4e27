"""bpverify leaves a user's JAX alone: ``import bpverify`` loads neither JAX nor Hypothesis, and
neither the import nor an in-process ``bpverify.check(...)`` changes JAX's configuration or the
user's default dtype (issue 22, part 2).  Each case runs in a fresh interpreter, as a user's
notebook kernel would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

#: The user's view of JAX: the settings bpverify used to change, and what a notebook sees.
_STATE = """
import json, sys
def jax_state():
    import jax, jax.numpy as jnp
    names = ("jax_enable_x64", "jax_platforms", "jax_default_device", "jax_compilation_cache_dir",
             "jax_persistent_cache_min_compile_time_secs",
             "jax_persistent_cache_min_entry_size_bytes", "jax_enable_compilation_cache")
    state = {n: repr(getattr(jax.config, n)) for n in names}
    state["dtype"] = str(jnp.ones(2).dtype)
    state["sum dtype"] = str((jnp.arange(3) * 0.5).dtype)
    try:
        from jax._src import compilation_cache
        state["disk cache started"] = compilation_cache._cache is not None
    except (ImportError, AttributeError):
        pass
    return state
"""

#: A user's in-process check: layers, a gate class and an autograd engine, which use all the
#: oracles (the items' and the engine's).
_CHECK = """
import bpverify
sys.path[:0] = [{repo!r}, {engines!r}]
from reference import affine_backward, affine_forward, relu_backward, relu_forward, MultiplyGate
from good import Value
result = bpverify.check(affine_forward, affine_backward, relu_forward, relu_backward,
                        MultiplyGate, Value, profile="ci")
assert result.items and all(i.passed for i in result.items), result.summary()
"""


def _run(code: str, tmp_path: Path) -> dict:
    env = {**os.environ, "BPVERIFY_JAX_CACHE": str(tmp_path / "jax-cache")}
    env.pop("JAX_PLATFORMS", None)
    env.pop("JAX_ENABLE_X64", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, cwd=tmp_path, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_bpverify_loads_neither_jax_nor_hypothesis(tmp_path: Path) -> None:
    got = _run("import sys, json\nimport bpverify\nbpverify.__version__\n"
               "import bpverify.pytest_plugin\n"
               "print(json.dumps(sorted(m for m in sys.modules\n"
               "    if m.split('.')[0] in ('jax', 'jaxlib', 'hypothesis'))))", tmp_path)
    assert got == []


def test_a_public_name_loads_on_first_use(tmp_path: Path) -> None:
    got = _run("import sys, json\nimport bpverify\n"
               "names = {n: callable(getattr(bpverify, n)) for n in bpverify.__all__}\n"
               "print(json.dumps(['hypothesis' in sys.modules, sorted(names)]))", tmp_path)
    import bpverify

    assert got == [True, sorted(bpverify.__all__)]
    with pytest.raises(AttributeError, match="no attribute 'chek'"):
        bpverify.chek  # noqa: B018


def test_users_jax_is_unchanged_by_import_and_check(tmp_path: Path) -> None:
    """The user computes with JAX first, then imports bpverify and checks in the same process."""
    code = _STATE + (
        "before = jax_state()\n"
        "import bpverify\n"
        "after_import = jax_state()\n"
        + _CHECK.format(repo=str(REPO), engines=str(REPO / "tests" / "engines"))
        + "print(json.dumps([before, after_import, jax_state()]))\n"
    )
    before, after_import, after_check = _run(code, tmp_path)
    assert before["dtype"] == "float32" and before["jax_enable_x64"] == "False"
    assert after_import == before
    assert after_check == before
    assert any((tmp_path / "jax-cache").iterdir())  # the oracles still used their disk cache


def test_users_jax_is_as_fresh_after_a_check_that_started_it(tmp_path: Path) -> None:
    """bpverify.check() is the first to use JAX; the user's JAX afterwards is as in a fresh
    process that never imported bpverify."""
    fresh = _run(_STATE + "print(json.dumps(jax_state()))\n", tmp_path)
    code = _STATE + _CHECK.format(repo=str(REPO), engines=str(REPO / "tests" / "engines")) \
        + "print(json.dumps(jax_state()))\n"
    assert _run(code, tmp_path) == fresh
