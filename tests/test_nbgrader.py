"""A real nbgrader run (issue 25): an autograded cell that asserts ``bpverify.check(...)``.

A one-problem assignment (affine_forward and affine_backward, 5 points) goes through
``nbgrader generate_assignment``; two students hand in the released notebook, one with db
averaged over the batch instead of summed; ``nbgrader autograde`` runs both in a real kernel
and ``nbgrader export`` says what it recorded.  Slow (about a minute and a half: nbgrader
starts a kernel per notebook, and each kernel compiles the oracles), so opt in with
``--run-slow``; it needs ``pip install -e ".[nbgrader]"`` and skips without it.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

nbformat = pytest.importorskip("nbformat")

SOLUTION = '''import numpy as np


def affine_forward(x, w, b):
    ### BEGIN SOLUTION
    out = x.reshape(x.shape[0], -1) @ w + b
    ### END SOLUTION
    return out, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    ### BEGIN SOLUTION
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout.sum(axis=0)
    ### END SOLUTION
    return dx, dw, db
'''

#: The autograded cell: the whole test is one assertion.
TEST_CELL = '''import bpverify

bpverify.check(affine_forward, affine_backward, profile="ci").assert_passed()
'''


def _cell_meta(**fields: object) -> dict[str, object]:
    return {"nbgrader": {"schema_version": 3, "locked": False, "solution": False,
                         "grade": False, **fields}}


def _nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("nbgrader", path=str(Path(sys.executable).parent)) or "nbgrader"
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(course / ".jupyter")}
    run = subprocess.run([exe, *args], cwd=course, env=env, capture_output=True, text=True,
                         timeout=900)
    assert run.returncode == 0, f"nbgrader {' '.join(args)}:\n{run.stderr[-3000:]}"
    return run


def _hand_in(course: Path, student: str, code: str) -> None:
    nb = nbformat.read(course / "release" / "ps1" / "ps1.ipynb", as_version=4)
    stubs = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert len(stubs) == 1 and "NotImplementedError" in stubs[0].source  # as released
    stubs[0].source = code
    folder = course / "submitted" / student / "ps1"
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / "ps1.ipynb")


def test_nbgrader_records_the_points_of_an_assert_passed_cell(tmp_path: Path) -> None:
    pytest.importorskip("nbgrader", reason='pip install -e ".[nbgrader]"')
    course = tmp_path / "course"
    (course / "source" / "ps1").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(
        'c = get_config()\nc.CourseDirectory.course_id = "backprop"\n'
        "c.ExecutePreprocessor.timeout = 600\n")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("Write `affine_forward` and `affine_backward`."),
        nbformat.v4.new_code_cell(SOLUTION, metadata=_cell_meta(solution=True,
                                                                grade_id="affine")),
        nbformat.v4.new_code_cell(TEST_CELL, metadata=_cell_meta(
            grade=True, locked=True, grade_id="test_affine", points=5)),
    ]
    nbformat.write(nb, course / "source" / "ps1" / "ps1.ipynb")
    _nbgrader(course, "generate_assignment", "ps1", "--create")

    written = "\n".join(line for line in SOLUTION.splitlines() if "###" not in line) + "\n"
    _hand_in(course, "alice", written.replace("dout.sum(axis=0)", "dout.mean(axis=0)"))
    _hand_in(course, "bob", written)
    _nbgrader(course, "autograde", "ps1")
    _nbgrader(course, "export", "--to", "grades.csv")

    with open(course / "grades.csv", newline="") as f:
        grades = {row["student_id"]: row for row in csv.DictReader(f)}
    assert float(grades["bob"]["score"]) == float(grades["bob"]["max_score"]) == 5.0
    assert float(grades["alice"]["score"]) == 0.0

    # what alice reads under the test cell: the diagnosis and the minimal example, short
    graded = json.loads((course / "autograded" / "alice" / "ps1" / "ps1.ipynb").read_text())
    errors = [o for c in graded["cells"] for o in c.get("outputs", ())
              if o.get("output_type") == "error"]
    assert [e["ename"] for e in errors] == ["AssertionError"]
    text = errors[0]["evalue"]
    assert text.startswith("bpverify: 1/2 items passed · 1 to fix\naffine_backward · ")
    assert "not the sum" in text and "minimal example: {'x': " in text
    assert len(text) < 2500
