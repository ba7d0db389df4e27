"""Grading where courses already are (issue 25): PrairieLearn's results.json through the CLI,
and ``bpverify.check(...).assert_passed()`` for autograded notebook cells.

The nbgrader run, with the real tool, is in tests/test_nbgrader.py.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

import bpverify
from bpverify.cli import main

REFERENCE = Path(__file__).resolve().parent.parent / "reference"

# --- PrairieLearn's schema -----------------------------------------------------------------
#
# PrairieLearn's external-grading documentation, "Grading results"
# (https://prairielearn.readthedocs.io/en/latest/externalGrading/#grading-results): the grader
# writes /grade/results/results.json; `score` is a number in [0.0, 1.0] (mandatory when the
# submission is gradable), `gradable` a boolean (false: "invalid, not gradable", the attempt is
# not counted), the file is at most 1 MB, and the <pl-external-grader-results> element renders
# `message`, `output` and `tests`, each test with `name`, `description`, `points`,
# `max_points`, `message` and `output` (the documented example; PrairieLearn's own Python
# autograder, graders/python/python_autograder/pl_main.py, writes the same fields).

#: field -> the types it may have; every field the issue names is required here.
PL_RESULTS = {"gradable": (bool,), "score": (int, float), "message": (str,), "output": (str,),
              "tests": (list,)}
PL_TEST = {"name": (str,), "description": (str,), "points": (int, float),
           "max_points": (int, float), "message": (str,), "output": (str,)}
PL_MAX_BYTES = 1_000_000


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (PrairieLearn parses the file as strict JSON)")


def check_prairielearn_results(path: Path) -> dict[str, Any]:
    """The file, after checking it against the documented schema; every violation is listed."""
    raw = path.read_bytes()
    data = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    problems = []
    if len(raw) > PL_MAX_BYTES:
        problems.append(f"{len(raw)} bytes; the limit is 1 MB")
    if not isinstance(data, dict):
        raise AssertionError(f"results.json is a JSON {type(data).__name__}; expected an object")

    def fields(obj: dict[str, Any], spec: dict[str, tuple[type, ...]], where: str) -> None:
        for key, types in spec.items():
            if key not in obj:
                problems.append(f"{where}: no {key!r}")
            elif isinstance(obj[key], bool) and bool not in types:
                problems.append(f"{where}.{key} is a boolean; expected {types}")
            elif not isinstance(obj[key], types):
                problems.append(f"{where}.{key} is {obj[key]!r}; expected {types}")

    fields(data, PL_RESULTS, "results")
    score = data.get("score")
    if isinstance(score, (int, float)) and not (math.isfinite(score) and 0.0 <= score <= 1.0):
        problems.append(f"score {score} is outside [0.0, 1.0]")
    for k, test in enumerate(data.get("tests") or []):
        if not isinstance(test, dict):
            problems.append(f"tests[{k}] is not an object")
            continue
        fields(test, PL_TEST, f"tests[{k}]")
        points, top = test.get("points"), test.get("max_points")
        if isinstance(points, (int, float)) and isinstance(top, (int, float)) \
                and not 0 <= points <= top:
            problems.append(f"tests[{k}]: points {points} outside [0, max_points {top}]")
    assert not problems, "\n".join(problems)
    return data


def _total(data: dict[str, Any]) -> tuple[float, float]:
    return (sum(t["points"] for t in data["tests"]), sum(t["max_points"] for t in data["tests"]))


SWAPPED = """
import numpy as np


class MultiplyGate:
    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, dz):
        return self.x * dz, self.y * dz   # the inputs' gradients swapped


class AddGate:
    def forward(self, x, y):
        return x + y

    def backward(self, dz):
        return dz, dz
"""


def test_prairielearn_results_follow_the_schema_and_score_the_reference(tmp_path: Path) -> None:
    out = tmp_path / "results" / "results.json"
    assert main(["grade", str(REFERENCE), "--profile", "ci", "--in-process", "--only",
                 "AddGate", "--only", "affine_backward", "--prairielearn", str(out)]) == 0
    data = check_prairielearn_results(out)
    assert data["gradable"] is True and data["score"] == 1.0
    assert [t["name"] for t in data["tests"]] == ["AddGate", "affine_backward"]
    assert all(t["points"] == t["max_points"] > 0 for t in data["tests"])
    assert "2/2 items passed" in data["message"]


def test_a_failing_test_carries_the_diagnosis_and_the_minimal_example(tmp_path: Path) -> None:
    sub = tmp_path / "gates.py"
    sub.write_text(SWAPPED)
    out = tmp_path / "results.json"
    assert main(["grade", str(sub), "--profile", "ci", "--only", "AddGate", "--only",
                 "MultiplyGate", "--prairielearn", str(out)]) == 0
    data = check_prairielearn_results(out)
    points, top = _total(data)
    assert data["score"] == pytest.approx(points / top) and 0 < data["score"] < 1
    assert "1/2 items passed · 1 to fix" in data["message"]
    test = {t["name"]: t for t in data["tests"]}["MultiplyGate"]
    assert test["points"] < test["max_points"]
    assert "backward: " in test["message"]
    assert "switches" in test["message"]  # the stored diagnosis, not the raw comparison
    assert "minimal example: {" in test["message"] and '"x"' in test["message"]
    assert "FAILED  backward" in test["output"]


def test_an_unimportable_submission_is_gradable_with_score_zero_and_the_reason(
    tmp_path: Path
) -> None:
    sub = tmp_path / "solution.py"
    sub.write_text("class MultiplyGate:\n    def forward(self, x, y)\n        return x * y\n")
    out = tmp_path / "results.json"
    assert main(["grade", str(sub), "--profile", "ci", "--prairielearn", str(out)]) == 0
    data = check_prairielearn_results(out)
    assert data["gradable"] is True and data["score"] == 0
    assert data["message"].startswith("The submission did not import cleanly: ")
    assert "SyntaxError" in data["message"] and "line 2" in data["message"]
    assert data["tests"] and all(t["points"] == 0 < t["max_points"] for t in data["tests"])
    assert all("SyntaxError" in t["message"] for t in data["tests"])


def test_prairielearn_inside_an_out_folder_and_only_when_asked(tmp_path: Path) -> None:
    assert main(["grade", str(REFERENCE), "--profile", "ci", "--in-process", "--only",
                 "AddGate", "--out", str(tmp_path / "all")]) == 0
    assert sorted(p.name for p in (tmp_path / "all" / "reference").iterdir()) == [
        "bpverify.json", "junit.xml", "results.json"]
    assert main(["grade", str(REFERENCE), "--profile", "ci", "--in-process", "--only",
                 "AddGate", "--out", str(tmp_path / "pl"), "--prairielearn", "pl.json"]) == 0
    check_prairielearn_results(tmp_path / "pl" / "reference" / "pl.json")


# --- assert_passed, for an autograded notebook cell ----------------------------------------

LAYERS = """
import numpy as np


def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db
"""


def _kernel(source: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    exec(compile(source, "<cell>", "exec"), namespace)
    return namespace


def test_assert_passed_is_quiet_when_everything_passes() -> None:
    ns = _kernel(LAYERS)
    result = bpverify.check(ns["affine_forward"], ns["affine_backward"], profile="ci")
    assert result.assert_passed() is None


def test_assert_passed_raises_with_the_diagnosis_and_the_minimal_example() -> None:
    ns = _kernel(LAYERS.replace("db = dout.sum(axis=0)", "db = dout.mean(axis=0)"))
    result = bpverify.check(ns["affine_forward"], ns["affine_backward"], profile="ci")
    with pytest.raises(AssertionError) as info:
        result.assert_passed()
    text = str(info.value)
    lines = text.splitlines()
    assert lines[0] == "bpverify: 1/2 items passed · 1 to fix"
    assert any(line.startswith("affine_backward · backward: ") and "db" in line
               and "sum" in line for line in lines), text
    assert any(line.startswith("    minimal example: {'x': ") for line in lines), text
    assert "affine_forward" not in text.split("\n", 1)[1]  # it passed: not mentioned
    assert len(text) < 2500  # short enough to read in a notebook's traceback


def test_assert_passed_names_a_missing_partner() -> None:
    ns = _kernel(LAYERS)
    result = bpverify.check(ns["affine_backward"], profile="ci")
    with pytest.raises(AssertionError, match=r"1 missing\naffine_backward: .*affine_forward"):
        result.assert_passed()


# --- the recipe in docs/batch.md, run as PrairieLearn would --------------------------------

DOCS = Path(__file__).resolve().parent.parent / "docs" / "batch.md"


def _recipe_script() -> str:
    text = DOCS.read_text(encoding="utf-8")
    section = text[text.index("## On PrairieLearn"):text.index("## On a cluster")]
    start = section.index("```bash\n#!/bin/bash") + len("```bash\n")
    return section[start:section.index("```", start)]


def test_the_prairielearn_recipe_grades_a_folder_laid_out_as_grade(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    job = tmp_path / "grade"
    course = job / "serverFilesCourse" / "bpverify"
    course.mkdir(parents=True)
    (job / "student").mkdir()
    (course / "run.sh").write_text(_recipe_script())
    (course / "rubric.toml").write_text('name = "pl"\n[items.AddGate]\npoints = 2\n'
                                        "[items.MultiplyGate]\npoints = 3\n")
    (job / "student" / "gates.py").write_text(SWAPPED)
    env = {**os.environ, "GRADE": str(job),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    run = subprocess.run(["bash", str(course / "run.sh")], env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    data = check_prairielearn_results(job / "results" / "results.json")
    assert data["gradable"] is True
    assert [t["name"] for t in data["tests"]] == ["AddGate", "MultiplyGate"]
    add, mul = data["tests"]
    assert add["points"] == add["max_points"] == 2 and mul["points"] < mul["max_points"] == 3
    assert data["score"] == pytest.approx((2 + mul["points"]) / 5)
    assert "minimal example" in data["tests"][1]["message"]
