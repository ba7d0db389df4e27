"""Scalar autograd engines (issue 11): micrograd passes, each mutant is caught by the right item
with the right diagnosis and nothing else, correct variants never fail."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from bpverify import check_submission
from bpverify.cli import main
from tests.engines.zoo import GRAPHS, MUTANTS, OPS, VARIANTS, source

HERE = Path(__file__).parent / "engines"


def _micrograd() -> Path:
    spec = importlib.util.find_spec("micrograd")
    if spec is None or spec.origin is None:
        pytest.skip("pip install micrograd (the test extra)")
    return Path(spec.origin).parent


def _grade(tmp_path: Path, name: str, text: str, only: list[str] | None = None):
    f = tmp_path / f"{name.replace('-', '_')}.py"
    f.write_text(text)
    return check_submission(f, rubric="autograd", profile="ci", only=only)


def test_micrograd_passes_every_item_it_has() -> None:
    result = check_submission(_micrograd(), profile="ci")
    assert result.rubric == "autograd"
    assert any("scalar autograd engine" in n for n in result.notes)
    implemented = {i.name for i in result.items if i.status != "not implemented"}
    assert implemented == OPS - {"Value tanh", "Value exp", "Value log", "Value sigmoid"} | GRAPHS
    assert result.failed_items == ()


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
