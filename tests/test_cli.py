"""The command line, driven the way a user drives it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bpverify.cli import main

BROKEN_GATE = """
class MultiplyGate:
    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, dz):
        return self.x * dz, self.y * dz  # swapped
"""


def _grade(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["grade", *args])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_grade_reference_item_writes_json(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          reference_path: Path) -> None:
    out = tmp_path / "sub" / "results.json"
    code, text = _grade(capsys, str(reference_path), "--only", "MultiplyGate", "--examples", "5",
                        "--json", str(out))
    assert code == 0
    assert "MultiplyGate" in text and "passed" in text
    assert "seed 0" in text and "reproduce: bpverify grade" in text
    data = json.loads(out.read_text())
    assert data["seed"] == 0
    assert [i["name"] for i in data["items"]] == ["MultiplyGate"]
    assert data["items"][0]["status"] == "passed"


def test_a_wrong_gradient_is_explained_with_a_minimal_example(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sub = tmp_path / "swapped.py"
    sub.write_text(BROKEN_GATE)
    code, text = _grade(capsys, str(sub), "--only", "MultiplyGate", "--examples", "10")
    assert code == 0  # grading completed, whatever the score
    assert "failed" in text
    assert "MultiplyGate · backward" in text
    assert "minimal example" in text
    assert "dx, dy differ from the chain rule" in text


def test_same_seed_same_results(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sub = tmp_path / "swapped.py"
    sub.write_text(BROKEN_GATE)
    outs = []
    for name in ("a.json", "b.json"):
        code, _ = _grade(capsys, str(sub), "--only", "MultiplyGate", "--examples", "8",
                         "--seed", "3", "--json", str(tmp_path / name))
        assert code == 0
        data = json.loads((tmp_path / name).read_text())
        data.pop("duration_s")
        outs.append(data)
    assert outs[0] == outs[1]
    assert outs[0]["seed"] == 3


def test_unimportable_submission_is_graded_not_crashed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sub = tmp_path / "broken.py"
    sub.write_text("class MultiplyGate:\n    def forward(self, x, y)\n        return x * y\n")
    out = tmp_path / "r.json"
    code, text = _grade(capsys, str(sub), "--examples", "2", "--json", str(out))
    assert code == 0
    data = json.loads(out.read_text())
    assert "SyntaxError in broken.py, line 2" in data["load_error"]
    assert {i["status"] for i in data["items"]} == {"not implemented"}
    assert "SyntaxError" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["does-not-exist.py"], "submission 'does-not-exist.py' not found"),
        (["reference", "--examples", "0"], "--examples must be at least 1, got 0"),
        (["reference", "--only", "NoSuchGate"], "invalid choice: 'NoSuchGate'"),
        (["reference", "--seed", "abc"], "invalid int value: 'abc'"),
    ],
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], args: list[str],
                             message: str) -> None:
    try:
        code = main(["grade", *args])
    except SystemExit as exc:  # argparse's own usage errors
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    assert code == 2
    assert message in err


def test_console_script_runs(reference_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bpverify", "grade", str(reference_path), "--only", "AddGate",
         "--examples", "3"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "1/1 items passed" in proc.stdout


def test_contract_doc_example_grades_as_documented(tmp_path: Path) -> None:
    """docs/contract.md's complete example passes what it says and nothing else is graded."""
    import bpverify

    doc = (Path(__file__).resolve().parent.parent / "docs" / "contract.md").read_text()
    code = re.search(r"```python\n(.*?)```", doc.split("## A complete example")[1], re.S)
    assert code is not None
    sub = tmp_path / "solution.py"
    sub.write_text(code.group(1))
    result = bpverify.check_submission(sub, profile="ci", max_examples=5)
    passed = {i.name for i in result.items if i.status == "passed"}
    assert passed == {"MultiplyGate", "AddGate", "relu_forward", "relu_backward",
                      "circuit (x+y)*z"}
    assert {i.status for i in result.items if i.name not in passed} == {"not implemented"}
