"""Results files: Gradescope's results.json, JUnit XML and the result model's JSON.

Each is a pure function of a SubmissionResult; the same submission, seed and options give the
same bytes apart from the timing fields.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bpverify.cli import main
from bpverify.model import CheckResult, ItemResult, SubmissionResult
from bpverify.output.formats import to_gradescope, to_json, to_junit, write_gradescope

REFERENCE = Path(__file__).resolve().parent.parent / "reference"
TEST_FIELDS = {"name", "score", "max_score", "status", "output", "visibility", "number"}


def _result() -> SubmissionResult:
    """A small result with every kind of outcome, written by hand."""
    failed = CheckResult(
        name="backward", status="failed", kind="wrong-values",
        message="MultiplyGate.backward(dout): dx differs\x00 from the chain rule\nsecond line",
        example={"x": [1.0, 2.0], "y": 3.0, "dout": float("nan")},
    )
    return SubmissionResult(
        submission="solution.py", seed=7, profile="ci", bpverify_version="0.1.0",
        rubric="default", duration_s=12.6,
        items=(
            ItemResult("AddGate", "gate", "passed",
                       checks=(CheckResult("forward", "passed"), CheckResult("backward", "passed")),
                       score=3.0, max_score=3.0),
            ItemResult("MultiplyGate", "gate", "failed",
                       checks=(CheckResult("forward", "passed"), failed,
                               CheckResult("numerical", "skipped", message="not judged"),
                               CheckResult("hygiene", "failed", kind="internal-error",
                                           message="bpverify internal error")),
                       score=1.0, max_score=4.0, visibility="after_due_date"),
            ItemResult("relu_backward", "layer", "not implemented",
                       message="not implemented: relu_backward is not defined", max_score=4.0),
            ItemResult("circuit (x+y)*z", "circuit", "passed",
                       checks=(CheckResult("forward", "passed"),), score=3.0, max_score=3.0),
        ),
    )


def test_gradescope_has_exactly_the_specified_fields() -> None:
    data = to_gradescope(_result())
    assert set(data) == {"score", "execution_time", "output", "tests"}
    assert data["score"] == 7.0 and data["execution_time"] == 13
    assert "Reproduce: bpverify grade solution.py --seed 7 --profile ci" in data["output"]
    for n, test in enumerate(data["tests"], start=1):
        assert set(test) == TEST_FIELDS
        assert test["number"] == str(n)
        assert test["status"] in ("passed", "failed")
    assert [(t["name"], t["score"], t["max_score"], t["status"], t["visibility"])
            for t in data["tests"]] == [
        ("AddGate", 3.0, 3.0, "passed", "visible"),
        ("MultiplyGate", 1.0, 4.0, "failed", "after_due_date"),
        ("relu_backward", 0.0, 4.0, "failed", "visible"),
        ("circuit (x+y)*z", 3.0, 3.0, "passed", "visible"),
    ]


def test_gradescope_output_explains_each_check() -> None:
    tests = {t["name"]: t for t in to_gradescope(_result())["tests"]}
    out = tests["MultiplyGate"]["output"]
    assert out.startswith("1 of 4 checks passed.")
    assert "FAILED  backward\n    MultiplyGate.backward(dout): dx differs? from" in out
    assert 'minimal example: {"x": [1.0, 2.0], "y": 3.0, "dout": NaN}' in out
    assert "skipped  numerical" in out
    assert tests["relu_backward"]["output"] == "not implemented: relu_backward is not defined"


def test_gradescope_file_is_strict_json(tmp_path: Path) -> None:
    path = write_gradescope(_result(), tmp_path / "deep" / "results.json")
    json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"constant {c}"))


def test_junit_parses_with_one_testcase_per_check() -> None:
    root = ET.fromstring(to_junit(_result()))
    suite = root.find("testsuite")
    assert root.tag == "testsuites" and suite is not None
    assert {k: suite.get(k) for k in ("tests", "failures", "errors", "skipped")} == {
        "tests": "8", "failures": "2", "errors": "1", "skipped": "1"}
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert list(cases) == [
        "AddGate forward", "AddGate backward", "MultiplyGate forward", "MultiplyGate backward",
        "MultiplyGate numerical", "MultiplyGate hygiene", "relu_backward",
        "circuit (x+y)*z forward",
    ]
    failure = cases["MultiplyGate backward"].find("failure")
    assert failure is not None and failure.get("type") == "wrong-values"
    assert failure.get("message") == "MultiplyGate.backward(dout): dx differs? from the chain rule"
    assert cases["MultiplyGate hygiene"].find("error") is not None
    assert cases["MultiplyGate numerical"].find("skipped") is not None
    assert cases["relu_backward"].find("failure").get("type") == "not-implemented"


def test_json_round_trips_to_the_same_result() -> None:
    text = to_json(_result())  # compared as text: the example holds a NaN
    assert to_json(SubmissionResult.from_dict(json.loads(text))) == text


def test_a_result_written_before_optional_items_still_reads_and_renders(tmp_path: Path) -> None:
    # 0.2.0 wrote no "required" and stored an engine's example as the code's repr: reading it
    # back gives required items, and the example is shown as code all the same
    data = json.loads(to_json(_result()))
    for item in data["items"]:
        del item["required"]
    data["items"][1]["checks"][1]["example"] = {"code": "'a = Value(0.25); b = a + a; b.data'"}
    (tmp_path / "old.json").write_text(json.dumps(data))
    old = SubmissionResult.from_dict(json.loads((tmp_path / "old.json").read_text()))
    assert all(i.required for i in old.items)
    assert old.missing_items == ("relu_backward",) and old.absent_items == ()
    text = to_gradescope(old)["tests"][1]["output"]
    assert "minimal example: a = Value(0.25); b = a + a; b.data" in text
    assert main(["summary", str(tmp_path / "old.json"), "--out", str(tmp_path / "s")]) == 0


_TIMING = [
    (re.compile(r'"execution_time": \d+'), '"execution_time": 0'),
    (re.compile(r'time="[0-9.]+"'), 'time="0"'),
    (re.compile(r'"duration_s": [0-9.e+-]+'), '"duration_s": 0'),
]


def _grade_files(out: Path, *extra: str) -> dict[str, str]:
    argv = ["grade", str(REFERENCE), "--examples", "3", "--seed", "3", "--out", str(out),
            "--only", "MaxGate", "--only", "relu_backward", "--only", "circuit (x+y)*z", *extra]
    assert main(argv) == 0
    texts = {}
    for path in sorted((out / "reference").iterdir()):
        text = path.read_text()
        for pattern, fixed in _TIMING:
            text = pattern.sub(fixed, text)
        texts[path.name] = text
    return texts


def test_same_submission_and_seed_give_byte_identical_files(tmp_path: Path) -> None:
    first = _grade_files(tmp_path / "a")
    assert sorted(first) == ["bpverify.json", "junit.xml", "results.json"]
    assert _grade_files(tmp_path / "b") == first
    # Isolation changes nothing either but the record of it: the in-process grade writes the
    # same bytes, apart from the "sandbox" line that says how the submission was contained.
    in_process = _grade_files(tmp_path / "c", "--in-process")
    sandbox_line = re.compile(r'\n *"sandbox": "[^"]*",?')
    assert {k: sandbox_line.sub("", v) for k, v in in_process.items()} == {
        k: sandbox_line.sub("", v) for k, v in first.items()}
    assert '"sandbox": "in-process (no isolation)"' in in_process["bpverify.json"]


def test_outputs_read_the_stored_diagnosis_and_never_call_diagnose(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine diagnoses once; every format, the terminal and the summary only read it."""
    import io

    from rich.console import Console

    import bpverify
    from bpverify.cli import render_table
    from bpverify.feedback import diagnose as diagnose_module
    from bpverify.output.html import to_html
    from bpverify.output.summary import render_summary, summarize, to_csv, to_summary_html

    student = tmp_path / "student.py"
    student.write_text("from reference import *  # noqa: F403\n\n"
                       "class MultiplyGate:\n"
                       "    def forward(self, x, y):\n"
                       "        self.x, self.y = x, y\n"
                       "        return x * y\n"
                       "    def backward(self, dz):\n"
                       "        return self.x * dz, self.y * dz\n")
    graded = bpverify.check_submission(student, profile="ci", only=["MultiplyGate"])
    stored = graded.item("MultiplyGate").check("backward").diagnosis
    assert stored is not None and stored.mistake == "inputs-swapped"

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("an output recomputed a diagnosis")

    for name in ("diagnose", "diagnose_item", "diagnosis_line"):
        monkeypatch.setattr(diagnose_module, name, refuse)
    result = SubmissionResult.from_dict(json.loads(to_json(graded)))  # as `summary` reads it
    mul = next(t for t in to_gradescope(result)["tests"] if t["name"] == "MultiplyGate")
    assert f"diagnosis: {stored.text}" in mul["output"]
    assert 'name="MultiplyGate backward"' in to_junit(result)
    assert stored.saw in to_html(result)
    console = Console(file=io.StringIO(), width=200)
    render_table(result, console)
    assert stored.saw in console.file.getvalue()  # type: ignore[attr-defined]
    summary = summarize([result])
    assert summary.items[0].mistakes[0].text == "100% swapped the inputs' gradients"
    assert "swapped the inputs" in to_summary_html(summary)
    render_summary(summary, console)
    assert to_csv(summary).startswith("submission,")
