"""Scalar autograd engines (issue 11): micrograd passes, each mutant is caught by the right item
with the right diagnosis and nothing else, correct variants never fail."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

import bpverify
from bpverify import check_submission
from bpverify.cli import main
from bpverify.model import SubmissionResult
from tests.engines.zoo import GRAPHS, MUTANTS, OPS, VARIANTS, source

HERE = Path(__file__).parent / "engines"
#: The autograd rubric's optional operations: micrograd's own engine has none of them.
OPTIONAL = {"Value r**", "Value tanh", "Value exp", "Value log", "Value sigmoid", "Value methods"}


def _micrograd() -> Path:
    spec = importlib.util.find_spec("micrograd")
    if spec is None or spec.origin is None:
        pytest.skip("pip install micrograd (the test extra)")
    return Path(spec.origin).parent


def _grade(tmp_path: Path, name: str, text: str, only: list[str] | None = None):
    f = tmp_path / f"{name.replace('-', '_')}.py"
    f.write_text(text)
    return check_submission(f, rubric="autograd", profile="ci", only=only)


def test_micrograd_folder_passes_in_the_isolated_worker(tmp_path: Path, capsys) -> None:
    # micrograd/nn.py says `from micrograd.engine import Value`: the folder is importable
    # under its own name in the sandboxed worker (where an installed micrograd is refused)
    code = main(["grade", str(_micrograd()), "--profile", "ci", "--json",
                 str(tmp_path / "r.json"), "--html", str(tmp_path / "r.html")])
    out = capsys.readouterr().out
    result = json.loads((tmp_path / "r.json").read_text())
    assert code == 0
    assert result["rubric"] == "autograd"
    assert result["load_error"] == ""
    assert not [n for n in result["notes"] if "import" in n], result["notes"]
    assert any("scalar autograd engine" in n for n in result["notes"])
    status = {i["name"]: i["status"] for i in result["items"]}
    implemented = {n for n, s in status.items() if s != "not implemented"}
    assert implemented == OPS - OPTIONAL | GRAPHS
    assert {status[n] for n in implemented} == {"passed"}
    # issue 23: the canonical engine gets full marks; the operations it does not have are
    # optional, out of the total, and nothing in the report asks to fix them
    graded = bpverify.SubmissionResult.from_dict(result)
    assert graded.score == graded.max_score == 33
    assert set(graded.absent_items) == OPTIONAL and graded.missing_items == ()
    assert graded.passed
    assert f"{len(implemented)}/{len(implemented)} items passed, 33/33 points" in out
    assert "to fix" not in out and "missing" not in out and "not implemented" not in out
    page = (tmp_path / "r.html").read_text()
    assert "all passed" in page and "to fix" not in page and "missing" not in page
    assert "not in this engine" in page


def test_micrograd_with_one_wrong_operation_has_one_to_fix(tmp_path: Path, capsys) -> None:
    # micrograd's engine as installed, with __rsub__ computing self - other: one item to fix,
    # and neither the optional operations it lacks nor the failures' count of checks say more
    engine = (_micrograd() / "engine.py").read_text()
    wrong = engine.replace("return other + (-self)", "return self + (-other)")
    assert wrong != engine, "micrograd's __rsub__ is not written as expected"
    (tmp_path / "engine.py").write_text(wrong)
    code = main(["grade", str(tmp_path / "engine.py"), "--profile", "ci", "--json",
                 str(tmp_path / "r.json"), "--html", str(tmp_path / "r.html"),
                 "--gradescope", str(tmp_path / "gs.json")])
    out = capsys.readouterr().out
    assert code == 0
    assert "13/14 items passed · 1 to fix, " in out
    assert "missing" not in out
    result = bpverify.SubmissionResult.from_dict(json.loads((tmp_path / "r.json").read_text()))
    assert result.failed_items == ("Value r-",)
    assert result.max_score == 33 and result.score < 33
    page = (tmp_path / "r.html").read_text()
    assert ">1 to fix<" in page
    # the minimal example is code, not a quoted string in a dict
    assert '<pre class="code"><code>a = Value(' in page
    assert "minimal example:\na = Value(" in out
    assert "{'code'" not in out and "&#39;a = Value" not in page
    gradescope = json.loads((tmp_path / "gs.json").read_text())
    assert {t["name"] for t in gradescope["tests"]}.isdisjoint(OPTIONAL)
    assert "1 to fix" in gradescope["output"]


def test_cli_auto_detects_an_engine_and_prints_code(tmp_path: Path, capsys) -> None:
    f = tmp_path / "engine.py"
    f.write_text(source(MUTANTS["overwrite"][0]))
    code = main(["grade", str(f), "--profile", "ci", "--in-process", "--only", "Value fan-out",
                 "--json", str(tmp_path / "r.json"), "--html", str(tmp_path / "r.html")])
    out = capsys.readouterr().out
    assert code == 0
    assert "autograd rubric" in out
    assert ".backward()  # " in out  # the shrunk program, as code to paste
    assert "use += in _backward" in out
    assert "<svg" in (tmp_path / "r.html").read_text()


@pytest.mark.parametrize("name", ["overwrite", "preorder-topo", "tanh-ignores-upstream",
                                  "rsub-order"])
def test_mutant_caught_by_its_item(tmp_path: Path, name: str) -> None:
    edits, expect = MUTANTS[name]
    only = sorted(set(expect) | {"Value graph", "Value +", "Value *"})
    result = _grade(tmp_path, name, source(edits), only)
    failed = {i.name: i.first_failure for i in result.items if i.status == "failed"}
    assert set(failed) == set(expect)
    for item, mistake in expect.items():
        if mistake:
            assert failed[item].diagnosis is not None
            assert failed[item].diagnosis.mistake == mistake


def test_operator_calling_itself_forever_ends_in_recursion_error(tmp_path: Path) -> None:
    # in the grader's own process: the engine runs on a thread with a stack deep enough for
    # the raised recursion limit, so this is a RecursionError, not a crashed grader
    edits, expect = MUTANTS["sub-recurses"]
    result = _grade(tmp_path, "sub_recurses", source(edits), ["Value -"])
    (item,) = result.items
    assert item.status == "failed"
    assert item.first_failure.facts.exc_type == "RecursionError"
    assert item.first_failure.diagnosis.mistake == expect["Value -"]


def test_operations_built_on_a_wrong_one_say_so(tmp_path: Path) -> None:
    edits, expect = MUTANTS["mul-wrong-operand"]
    only = ["Value *", "Value neg", "Value -"]
    result = _grade(tmp_path, "mul", source(edits), only)
    failed = {i.name: i.first_failure for i in result.items if i.status == "failed"}
    assert set(failed) == {"Value *", "Value neg", "Value -"}
    assert failed["Value *"].diagnosis.mistake == "inputs-swapped"  # the root
    for name in ("Value neg", "Value -"):
        check = failed[name]
        assert check.diagnosis.mistake == expect[name] == "built-on-wrong"
        assert check.facts.built_on[0] == "Value *"
        assert "fix * first" in check.diagnosis.saw
    assert failed["Value -"].facts.built_on == ("Value *", "Value neg")


@pytest.mark.parametrize(("name", "only"), [
    ("sub-via-rsub-neg", ["Value -", "Value r-", "Value neg", "Value fan-out"]),
    ("no-tanh", ["Value tanh", "Value exp", "Value graph", "Value fan-out"]),
])
def test_correct_variant_passes_what_it_has(tmp_path: Path, name: str, only: list[str]) -> None:
    result = _grade(tmp_path, name, source(VARIANTS[name]), only)
    status = {i.name: i.status for i in result.items}
    assert result.failed_items == ()
    assert status["Value tanh" if name == "no-tanh" else "Value -"] == (
        "not implemented" if name == "no-tanh" else "passed")
    assert {s for n, s in status.items() if n != "Value tanh"} == {"passed"}


def test_explain_with_an_engine_agrees_gate_by_gate(capsys) -> None:
    code = main(["explain", "(x+y)*z - x/y", "x=-2", "y=5", "z=-4", "--engine",
                 str(HERE / "good.py")])
    out = capsys.readouterr().out
    assert code == 0
    assert "Forward pass" in out  # the hand walk, as without --engine
    assert "c = y ** -1" in out  # the same circuit, one engine operation per gate
    assert "x.grad -4.20" in out
    assert "agrees with the hand computation at every gate" in out
    assert not _marked(out)


def _marked(out: str) -> list[str]:
    """Table rows and leaf lines that mark a difference."""
    return [line for line in out.splitlines() if "✗" in line and line.startswith(("│", "  d"))]


def test_explain_with_a_wrong_engine_names_the_node(tmp_path: Path, capsys) -> None:
    f = tmp_path / "engine.py"
    f.write_text(source(MUTANTS["mul-wrong-operand"][0]))
    code = main(["explain", "(x+y)*z - x/y", "x=-2", "y=5", "z=-4", "--engine", str(f)])
    out = capsys.readouterr().out
    assert code == 0
    assert "agrees" not in out
    assert any(line.startswith("  dz/") or "z.grad -4 ✗" in line for line in _marked(out))
    # going backward, the first * gate is e = d * -1.0 (its grad of d is wrong)
    assert "First difference going backward: #2 e = d * -1.0" in out
    assert "whose own backward is wrong is e = d * -1.0" in out


def test_explain_engine_without_a_value_class(tmp_path: Path) -> None:
    f = tmp_path / "engine.py"
    f.write_text("x = 1\n")
    assert main(["explain", "x*y", "x=1", "y=2", "--engine", str(f)]) == 2


def test_engine_runs_in_the_isolated_worker(tmp_path: Path) -> None:
    f = tmp_path / "engine.py"
    f.write_text(source(MUTANTS["unseeded"][0]))
    code = main(["grade", str(f), "--profile", "ci", "--only", "Value graph", "--only",
                 "Value *", "--json", str(tmp_path / "r.json")])
    assert code == 0
    text = (tmp_path / "r.json").read_text()
    assert "engine-unseeded" in text


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_whole_zoo_without_collateral(tmp_path: Path, name: str) -> None:
    edits, expect = MUTANTS[name]
    result = _grade(tmp_path, name, source(edits))
    failed = {i.name: i.first_failure for i in result.items if i.status == "failed"}
    assert set(failed) == set(expect)
    for item, mistake in expect.items():
        if mistake:
            assert failed[item].diagnosis is not None
            assert failed[item].diagnosis.mistake == mistake


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_correct_variants_never_fail(tmp_path: Path, name: str) -> None:
    result = _grade(tmp_path, name, source(VARIANTS[name]))
    assert result.failed_items == ()


def test_a_learners_own_package_named_micrograd_is_not_an_autodiff_library(tmp_path: Path) -> None:
    """engine.py of a learner's own package called micrograd imports micrograd.topo: that is
    the submission's own module, graded in the sandbox that refuses the real libraries."""
    engine = Path(__file__).parent / "engines" / "wild" / "own_package" / "micrograd" / "engine.py"
    js = tmp_path / "r.json"
    assert main(["grade", str(engine), "--profile", "ci", "--examples", "5", "--json", str(js),
                 "--only", "Value +", "--only", "Value *"]) == 0
    result = SubmissionResult.from_dict(json.loads(js.read_text()))
    assert "in-process" not in result.sandbox
    assert [i.status for i in result.items] == ["passed", "passed"], [
        i.message or (i.first_failure and i.first_failure.message) for i in result.items]


def test_leaves_that_need_requires_grad_are_built_with_it() -> None:
    """A PyTorch-style engine whose leaves keep no gradient by default: set, and said."""
    result = check_submission(Path(__file__).parent / "engines" / "wild" / "requires_grad.py",
                              profile="ci", max_examples=5)
    assert result.rubric == "autograd"
    assert any("requires_grad=False by default" in n for n in result.notes), result.notes
    graded = {i.name: i.status for i in result.items if i.status != "not implemented"}
    assert graded and set(graded.values()) == {"passed"}, [
        (i.name, i.first_failure and i.first_failure.message) for i in result.items
        if i.status == "failed"]
    assert {"Value +", "Value *", "Value tanh"} <= set(graded)


def test_closures_handed_the_upstream_gradient_are_called_with_it() -> None:
    """``_grad_fn(grad)`` closures (seen in the field): each node's replay hands its gradient."""
    result = check_submission(Path(__file__).parent / "engines" / "wild" / "grad_fn_arg.py",
                              profile="ci", max_examples=5)
    graded = {i.name: i.status for i in result.items if i.status != "not implemented"}
    assert {"Value +", "Value *", "Value graph", "Value fan-out"} <= set(graded)
    assert set(graded.values()) == {"passed"}, [
        (i.name, i.first_failure and i.first_failure.message) for i in result.items
        if i.status == "failed"]


@pytest.mark.parametrize("swapped", [False, True])
def test_a_reflected_power_is_checked(tmp_path: Path, swapped: bool) -> None:
    """2 ** a calls __rpow__: one that returns self ** other (a ** 2, seen in the field) fails
    its own item; a right one passes, also inside random graphs."""
    engine = tmp_path / "engine.py"
    source = (Path(__file__).parent / "engines" / "wild" / "rpow.py").read_text()
    engine.write_text(source.replace("RPOW_SWAPPED = False", f"RPOW_SWAPPED = {swapped}"))
    result = check_submission(engine, profile="ci", max_examples=5,
                              only=["Value r**", "Value graph"])
    rpow = result.item("Value r**")
    if swapped:
        assert rpow.status == "failed"
        assert "2.0 ** a" in rpow.first_failure.message, rpow.first_failure.message
        diagnosis = rpow.first_failure.diagnosis
        assert diagnosis is not None and diagnosis.mistake == "reflected-order"
        assert "2.0 ** a gave the value of a ** 2.0" in diagnosis.text
    else:
        assert [i.status for i in result.items] == ["passed", "passed"], [
            i.first_failure and i.first_failure.message for i in result.items]


def test_an_optional_operation_of_an_engine_that_did_not_import_says_why(tmp_path: Path) -> None:
    # An engine file with a syntax error may well define tanh: "not in this engine" would be
    # a guess; its optional items say the import failed, and still cost nothing
    result = _grade(tmp_path, "broken_engine", "class Value:\n    def __init__(self, data\n",
                    only=["Value tanh", "Value +"])
    items = {i.name: i for i in result.items}
    tanh = items["Value tanh"]
    assert tanh.status == "not implemented" and tanh.max_score == 0
    assert "did not import" in tanh.message and "SyntaxError" in tanh.message, tanh.message
    assert "not in this" not in tanh.message
    assert items["Value +"].max_score > 0  # a required one still counts
