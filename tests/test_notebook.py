"""bpverify.check(...) on objects in a kernel, and its inline report.

The first tests run a real notebook in a real IPython kernel (nbclient + ipykernel) and render it
with JupyterLab's own stylesheet (nbconvert's lab template) in headless Chromium; the rest call
the API in this process.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from markupsafe import escape

import bpverify
import reference.gates
import reference.layers
from bpverify.feedback.diagnose import diagnosis_line
from bpverify.output.html import to_html_fragment

ROOT = Path(__file__).resolve().parent.parent
#: The README's picture; the test writes it there only when asked (BPVERIFY_UPDATE_SCREENSHOT=1),
#: so an ordinary run leaves the tracked file alone.
README_SCREENSHOT = ROOT / "reports" / "notebook-check.png"

FORWARD = """\
import numpy as np
import bpverify

def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w, b)
"""
BUGGY = """
def affine_backward(dout, cache):
    x, w, b = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout.mean(axis=0)
    return dx, dw, db
"""
FIXED = BUGGY.replace("dout.mean(axis=0)", "dout.sum(axis=0)")
CALL = "bpverify.check(affine_forward, affine_backward)"


def _define(source: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    exec(compile(source, "<cell>", "exec"), namespace)
    return namespace


# --- a real notebook in a real kernel -------------------------------------------------------


@pytest.fixture
def executed(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The notebook: buggy backward, check, fixed backward, check; run in a fresh kernel."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    tmp = tmp_path_factory.mktemp("notebook")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in (FORWARD + BUGGY, CALL, FIXED.strip(), CALL)]
    with pytest.MonkeyPatch.context() as mp:
        # The kernel inherits these: the suite's profile, and no writes to the user's home.
        mp.setenv("BPVERIFY_PROFILE", "ci")
        mp.setenv("IPYTHONDIR", str(tmp / "ipython"))
        mp.setenv("JUPYTER_RUNTIME_DIR", str(tmp / "runtime"))
        nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                resources={"metadata": {"path": str(tmp)}}).execute()
    return nb


def _output(cell: Any) -> dict[str, Any]:
    results = [o for o in cell.outputs if o.output_type == "execute_result"]
    assert results, f"the cell displayed nothing; its outputs: {cell.outputs}"
    return dict(results[0].data)


def _chromium() -> str | None:
    return next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(n)), None)


# One test, so that the kernel starts once even when pytest-xdist spreads this file's tests.
def test_a_real_notebook_shows_the_report_inline(executed: Any, tmp_path: Path) -> None:
    # The failing check: its text summary is exactly the same call's in this process.
    failing = _output(executed.cells[1])
    html = failing["text/html"]
    here = bpverify.check(*_pick(_define(FORWARD + BUGGY)), profile="ci")
    assert failing["text/plain"] == repr(here)
    assert failing["text/plain"].startswith(f"{CALL}: 1/2 items passed")
    item = here.item("affine_backward")
    first = item.first_failure
    assert first is not None
    diagnosis = diagnosis_line(first, item, prefix="")
    assert "sum" in diagnosis
    assert f"<b>Diagnosis:</b> {escape(diagnosis)}" in html
    assert 'class="name">affine_backward<' in html and "db[0]" in html
    # The failing item is open, the passing one collapsed.
    assert re.search(r'<details class="item failed" open>\s*<summary>.*?affine_backward', html,
                     re.S)
    assert re.search(r'<details class="item passed">\s*<summary>.*?affine_forward', html, re.S)

    # The fixed version, in a later cell, passes and shows every item collapsed.
    fixed = _output(executed.cells[3])
    assert fixed["text/plain"].startswith(f"{CALL}: 2/2 items passed")
    assert "2/2 items passed" in fixed["text/html"] and "Diagnosis" not in fixed["text/html"]
    assert not re.search(r"<details[^>]*\bopen\b", fixed["text/html"])

    # The failing check as JupyterLab draws it (nbconvert's lab template carries JupyterLab's
    # stylesheet, which the report's scoped CSS must outrank), in headless Chromium.
    exe = _chromium()
    if exe is None:
        pytest.skip("chromium not found on PATH (apt-get install chromium; .ci/run installs it)")
    nbconvert = pytest.importorskip("nbconvert")
    shown = executed.copy()
    shown.cells = shown.cells[:2]  # as a student first sees it
    page, _ = nbconvert.HTMLExporter(template_name="lab").from_notebook_node(shown)
    assert "jp-RenderedHTMLCommon" in page
    assert 'class="bpv bpv-nb"' in page and "<b>Diagnosis:</b>" in page
    file = tmp_path / "notebook.html"
    file.write_text(page, encoding="utf-8")
    screenshot = tmp_path / "notebook-check.png"
    shot = subprocess.run(
        [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--no-first-run", "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}",
         f"--screenshot={screenshot}", "--window-size=1100,1180", file.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert shot.returncode == 0 and screenshot.stat().st_size > 20_000, shot.stderr[-2000:]
    if os.environ.get("BPVERIFY_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(screenshot, README_SCREENSHOT)


# --- the API, in this process ----------------------------------------------------------------


def _pick(namespace: dict[str, Any]) -> tuple[Any, Any]:
    return namespace["affine_forward"], namespace["affine_backward"]


def _names(result: bpverify.SubmissionResult) -> list[str]:
    return [i.name for i in result.items]


def test_functions_are_checked_by_their_names() -> None:
    result = bpverify.check(reference.layers.affine_forward, reference.layers.affine_backward)
    assert isinstance(result, bpverify.SubmissionResult) and result.passed
    assert _names(result) == ["affine_forward", "affine_backward"]
    assert result.reproduce == ("bpverify.check(affine_forward, affine_backward, seed=0, "
                                f"profile={result.profile!r})")


def test_classes_bring_the_circuits_they_make_up() -> None:
    result = bpverify.check(reference.gates.AddGate, reference.gates.MultiplyGate)
    assert result.passed
    assert _names(result) == ["AddGate", "MultiplyGate", "circuit (x+y)*z"]
    html = result._repr_html_()
    assert "<svg" in html and 'class="legend"' in html


def test_a_module_is_checked_for_every_name_it_defines() -> None:
    result = bpverify.check(reference.layers, only=None)
    assert result.submission == "reference.layers"
    assert _names(result) == ["affine_forward", "affine_backward", "relu_forward",
                              "relu_backward", "softmax_loss", "svm_loss"]
    assert result.passed


def test_globals_of_a_notebook_are_a_namespace() -> None:
    cell = ("from reference.layers import relu_forward, relu_backward\n"
            "x = 3.0\n"
            "result = bpverify.check(globals())\n")
    namespace: dict[str, Any] = {"bpverify": bpverify}
    exec(cell, namespace)
    result = namespace["result"]
    assert result.submission == "globals()"
    assert _names(result) == ["relu_forward", "relu_backward"] and result.passed
    # A SimpleNamespace or a plain dict works too, labelled by its size.
    ns = bpverify.check(types.SimpleNamespace(relu_forward=reference.layers.relu_forward))
    assert _names(ns) == ["relu_forward"] and ns.submission == "<1 names>"


def test_a_missing_partner_is_named() -> None:
    result = bpverify.check(reference.layers.affine_backward)
    item = result.item("affine_backward")
    assert item.status == "not implemented"
    assert item.message == "affine_backward needs affine_forward: pass it too"
    assert not result.passed
    assert "affine_backward needs affine_forward: pass it too" in repr(result)
    assert "affine_backward needs affine_forward: pass it too" in to_html_fragment(result)


def test_only_narrows_the_items_and_is_part_of_the_call_to_repeat() -> None:
    result = bpverify.check(reference.layers, only="relu_backward")
    assert _names(result) == ["relu_backward"]
    assert result.reproduce.startswith("bpverify.check(reference.layers, only=['relu_backward'],")
    missing = bpverify.check(reference.layers.relu_forward, only=["relu_backward"])
    assert missing.item("relu_backward").message == (
        "not implemented: relu_backward not found among the objects passed; pass it too")
    with pytest.raises(ValueError, match="relu_backwards"):
        bpverify.check(reference.layers, only=["relu_backwards"])


def test_the_same_seed_gives_the_same_examples() -> None:
    buggy = _pick(_define(FORWARD + BUGGY))
    first = bpverify.check(*buggy, seed=7, only="affine_backward")
    again = bpverify.check(*buggy, seed=7, only="affine_backward")
    other = bpverify.check(*buggy, seed=8, only="affine_backward")
    assert first.items == again.items
    assert first.item("affine_backward").status == "failed"
    assert first.items != other.items
    assert "seed=7" in first.reproduce


def test_a_name_bpverify_does_not_know_gets_a_suggestion() -> None:
    def afine_backward(dout: Any, cache: Any) -> Any:
        return reference.layers.affine_backward(dout, cache)

    with pytest.raises(ValueError, match=r"did you mean affine_backward\?"):
        bpverify.check(afine_backward)
    result = bpverify.check(reference.layers.relu_forward, afine_backward)
    assert _names(result) == ["relu_forward"]
    assert any("afine_backward" in n and "affine_backward" in n for n in result.notes)


def test_what_cannot_be_checked_is_refused_with_what_was_expected() -> None:
    with pytest.raises(TypeError, match=r"argument 2 is array.*expected a function, a class"):
        bpverify.check(reference.layers.relu_forward, np.zeros(3))
    with pytest.raises(TypeError, match="needs something to check"):
        bpverify.check()
    # A contract name bound to something else: the loader's reason, not a spelling hint.
    with pytest.raises(ValueError, match=r"affine_forward is a float; expected a function$"):
        bpverify.check({"affine_forward": 0.5})


@pytest.fixture(scope="module")
def failing() -> Iterator[bpverify.NotebookResult]:
    yield bpverify.check(*_pick(_define(FORWARD + BUGGY)), reference.gates.AddGate,
                         reference.gates.MultiplyGate)


def test_the_fragment_is_self_contained_and_scoped(failing: bpverify.NotebookResult) -> None:
    html = to_html_fragment(failing)
    assert html.lstrip().startswith('<div class="bpv bpv-nb">')
    for forbidden in ("<script", " src=", " href=", "<h1", "<h2", "<h3", "@import"):
        assert forbidden not in html, forbidden
    assert set(re.findall(r"https?://[^\s\"']*", html)) <= {"http://www.w3.org/2000/svg"}
    # No ids of its own (a notebook shows many reports) but each drawing's arrowhead, named
    # after the drawing so that a collapsed drawing never hides another one's arrows.
    ids = re.findall(r' id="([^"]*)"', html)
    # (circuits' bp-arrow-*, teaching figures' bp-fig-arrow-*: a gradient check is drawn too)
    assert all(re.fullmatch(r"bp-(fig-)?arrow-[0-9a-f]{12}", i) for i in ids), ids
    assert len(ids) == len(set(ids))
    css = re.search(r"<style>(.*?)</style>", html, re.S)
    assert css is not None
    rules = re.sub(r"/\*.*?\*/", "", css.group(1), flags=re.S)
    selectors = [s.strip() for block in re.findall(r"([^{}]+)\{[^{}]*\}", rules)
                 for s in block.split(",")]
    assert selectors
    unscoped = [s for s in selectors if not re.match(r"^(body[^ ]* )?\.bpv\.bpv\b", s)]
    assert unscoped == []
    # Both themes are covered: JupyterLab's and VS Code's dark themes redefine the colours.
    assert 'body[data-jp-theme-light="false"] .bpv.bpv' in html and "body.vscode-dark" in html


def test_the_text_summary_is_one_line_per_item(failing: bpverify.NotebookResult) -> None:
    printed: list[str] = []
    failing._repr_pretty_(types.SimpleNamespace(text=printed.append), False)  # IPython's printer
    lines = "".join(printed).splitlines()
    assert lines == repr(failing).splitlines()
    assert lines[0].startswith("bpverify.check(affine_forward, affine_backward, AddGate, "
                               "MultiplyGate): 4/5 items passed")
    assert [line[4:].split("  ")[0] for line in lines[1:]] == _names(failing)
    backward = lines[1 + _names(failing).index("affine_backward")]
    assert backward.startswith("  ✗ affine_backward  backward: ")
