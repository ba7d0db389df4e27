"""`bpverify gradescope-bundle`: the zip's layout, and its run_autograder run as Gradescope would.

Gradescope unpacks the zip into /autograder/source, copies run_autograder to /autograder and
runs it with the submission in /autograder/submission.  Here that tree is built in tmp_path
(AUTOGRADER_ROOT) and setup.sh's install is skipped: BPVERIFY_PYTHON points run_autograder at
this interpreter, which has bpverify installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from bpverify.cli import main

RUBRIC = """\
name = "two-items"
[items.MultiplyGate]
points = 4
[items.AddGate]
points = 2
"""

SWAPPED = """\
class MultiplyGate:
    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, dz):
        return self.x * dz, self.y * dz  # swapped
"""

TEST_FIELDS = {"name", "score", "max_score", "status", "output", "visibility", "number"}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bundle")
    rubric = folder / "my rubric.toml"  # a space: paths are quoted
    rubric.write_text(RUBRIC)
    out = folder / "autograder.zip"
    assert main(["gradescope-bundle", "--rubric", str(rubric), "--examples", "3",
                 "--timeout", "4", "--seed", "5", "--out", str(out)]) == 0
    return out


def _autograder(bundle: Path, root: Path, submission: str) -> Path:
    """The tree Gradescope builds: source/ (the zip), run_autograder, submission/."""
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(root / "source")
        for info in zf.infolist():  # extractall drops Unix modes; unzip keeps them
            (root / "source" / info.filename).chmod((info.external_attr >> 16) & 0o777)
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    (root / "submission" / "solution.py").write_text(submission)
    return root


def _run(root: Path, python: str = sys.executable) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "BPVERIFY_PYTHON": python}
    return subprocess.run([str(root / "run_autograder")], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_zip_has_gradescopes_layout(bundle: Path) -> None:
    with zipfile.ZipFile(bundle) as zf:
        infos = {i.filename: i for i in zf.infolist()}
        names = set(infos)
        scripts = {n: zf.read(n).decode() for n in ("setup.sh", "run_autograder")}
        rubric = zf.read("rubric.toml").decode()
    assert {"setup.sh", "run_autograder", "rubric.toml"} <= names  # at the root, not a folder
    for name in ("pyproject.toml", "README.md", "bpverify/__init__.py", "bpverify/cli.py",
                 "bpverify/grading/rubrics/default.toml",
                 "bpverify/output/templates/summary.html.j2",
                 "reference/gates.py"):
        assert f"bpverify-src/{name}" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc") or "egg-info" in n]
    modes = {n: (i.external_attr >> 16) & 0o777 for n, i in infos.items()}
    assert modes["setup.sh"] == modes["run_autograder"] == 0o755
    assert modes["rubric.toml"] == 0o644
    assert rubric == RUBRIC
    for name, text in scripts.items():
        assert text.startswith("#!/usr/bin/env bash\n")
        check = subprocess.run(["bash", "-n"], input=text, capture_output=True, text=True)
        assert check.returncode == 0, f"{name}: {check.stderr}"
    assert 'pip install --no-cache-dir "$SOURCE/bpverify-src"' in scripts["setup.sh"]
    assert ('--rubric "$ROOT/source/rubric.toml" --seed 5 --examples 3 --timeout 4'
            in scripts["run_autograder"])


def test_the_same_options_give_the_same_zip(tmp_path: Path) -> None:
    # Built back to back: the zip copies the package, which may be edited meanwhile.
    zips = [tmp_path / "first.zip", tmp_path / "second.zip"]
    for out in zips:
        assert main(["gradescope-bundle", "--profile", "ci", "--out", str(out)]) == 0
    assert zips[0].read_bytes() == zips[1].read_bytes()


def test_run_autograder_writes_gradescopes_results(bundle: Path, tmp_path: Path) -> None:
    root = _autograder(bundle, tmp_path / "autograder", SWAPPED)
    run = _run(root)
    assert run.returncode == 0, run.stdout + run.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    assert {"score", "execution_time", "output", "tests"} <= set(results)
    tests = {t["name"]: t for t in results["tests"]}
    assert set(tests) == {"MultiplyGate", "AddGate"}  # the custom rubric's items
    for t in tests.values():
        assert set(t) == TEST_FIELDS and t["status"] in ("passed", "failed")
    mul, add = tests["MultiplyGate"], tests["AddGate"]
    assert (mul["status"], mul["max_score"]) == ("failed", 4.0)
    assert "the inputs are swapped" in mul["output"]  # the diagnosis reaches the student
    assert (add["status"], add["score"], add["max_score"]) == ("failed", 0.0, 2.0)
    assert "not implemented" in add["output"]
    assert results["score"] == pytest.approx(sum(t["score"] for t in tests.values()))
    assert "--rubric two-items --seed 5" in results["output"]


def test_run_autograder_reports_a_grader_that_could_not_run(bundle: Path,
                                                             tmp_path: Path) -> None:
    root = _autograder(bundle, tmp_path / "autograder", SWAPPED)
    run = _run(root, python=shutil.which("false") or "/bin/false")
    assert run.returncode == 1
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 0
    assert "could not grade this submission (bpverify exited with status 1)" in results["output"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--examples", "0"], "--examples must be at least 1, got 0"),
        (["--timeout", "-1"], "--timeout must be a positive number of seconds, got -1"),
        (["--memory", "10"], "--memory must be at least 256 MB, got 10"),
        (["--rubric", "no-such.toml"], "rubric 'no-such.toml': no such file"),
    ],
)
def test_bad_options_exit_2_and_write_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              args: list[str], message: str) -> None:
    out = tmp_path / "autograder.zip"
    assert main(["gradescope-bundle", *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bpverify: error: ") and len(err.splitlines()) == 1
    assert message in err
    assert not out.exists()
