"""The pytest plugin, driven through real pytest runs (pytester)."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from bpverify.cli import main

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True)
def _reference_importable(monkeypatch: pytest.MonkeyPatch, reference_path: Path) -> None:
    """Submissions below do `from reference import *`, as the mistake zoo does."""
    monkeypatch.setenv("PYTHONPATH", str(reference_path.parent))

SWAPPED = """
from reference import *  # noqa: F403


class MultiplyGate:
    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, dz):
        return self.x * dz, self.y * dz
"""


def test_one_test_per_item_check_with_seed_in_header(
    pytester: pytest.Pytester, reference_path: Path
) -> None:
    result = pytester.runpytest_subprocess(
        "--bpverify-submission", str(reference_path), "--bpverify-examples", "3",
        "--bpverify-seed", "5", "-k", "MultiplyGate or (affine_backward and not temporal)", "-v",
    )
    result.assert_outcomes(passed=8)
    result.stdout.fnmatch_lines([
        "bpverify: submission * · rubric default · seed 5 · profile *",
        "*reference::MultiplyGate::backward PASSED*",
        "*reference::affine_backward::numerical PASSED*",
    ])


def test_failures_name_the_item_and_the_example(pytester: pytest.Pytester) -> None:
    sub = pytester.path / "swapped.py"
    sub.write_text(SWAPPED)
    result = pytester.runpytest_subprocess(
        "--bpverify-submission", str(sub), "--bpverify-examples", "5", "-k", "MultiplyGate",
    )
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] >= 2 and outcomes["passed"] >= 2
    result.stdout.fnmatch_lines([
        "*MultiplyGate · backward: MultiplyGate.backward(dout): dx, dy differ*",
        "*diagnosis: * multiply gate switches*",
        "*minimal example: {'x': *",
        "*reproduce: bpverify grade * --only 'MultiplyGate' --seed 0*",
    ])


def test_the_reproduce_line_names_the_rubric_and_reproduces(
        pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    sub = Path(__file__).parent / "layer_classes" / "mistakes" / "add_multiplies.py"
    result = pytester.runpytest_subprocess(
        "--bpverify-submission", str(sub), "--bpverify-rubric", "layer-classes",
        "--bpverify-examples", "5", "-k", "AddLayer",
    )
    line = next(ln for ln in result.stdout.lines if "reproduce: bpverify grade" in ln)
    command = line.split("reproduce: ", 1)[1].strip()
    assert "--rubric layer-classes" in command and "--profile " in command
    argv = shlex.split(command)[1:]  # the CLI without its program name
    assert main(argv) == 0  # grading completed, whatever the score
    out = capsys.readouterr().out
    assert "0/1 items passed" in out and "add layer outputs x + y" in out


def test_works_under_xdist(pytester: pytest.Pytester, reference_path: Path) -> None:
    result = pytester.runpytest_subprocess(
        "--bpverify-submission", str(reference_path), "--bpverify-examples", "2",
        "-n", "2", "-k", "Gate and not Sigmoid",
    )
    result.assert_outcomes(passed=35)


def test_missing_names_fail_as_not_implemented(pytester: pytest.Pytester) -> None:
    sub = pytester.path / "empty.py"
    sub.write_text("x = 1\n")
    result = pytester.runpytest_subprocess("--bpverify-submission", str(sub), "-k", "AddGate")
    result.assert_outcomes(failed=5)
    result.stdout.fnmatch_lines(["*AddGate is missing: not implemented: AddGate*",
                                 "bpverify: 1 missing *"])


def test_an_engine_counts_one_to_fix_and_skips_the_optional(
    pytester: pytest.Pytester,
) -> None:
    # micrograd's engine with a - reflected the wrong way round: its checks fail, one item to
    # fix; tanh, optional in the autograd rubric and not in micrograd, is skipped, not failed
    import importlib.util

    spec = importlib.util.find_spec("micrograd")
    if spec is None or spec.origin is None:
        pytest.skip("pip install micrograd (the test extra)")
    engine = (Path(spec.origin).parent / "engine.py").read_text()
    sub = pytester.path / "engine.py"
    sub.write_text(engine.replace("return other + (-self)", "return self + (-other)"))
    result = pytester.runpytest_subprocess(
        "--bpverify-submission", str(sub), "--bpverify-rubric", "autograd",
        "--bpverify-examples", "5", "-k", "r- or tanh or relu", "-rs",
    )
    from bpverify.grading.checks import checks_for
    from bpverify.registry import item_named

    tanh_checks = len(checks_for(item_named("Value tanh")))  # every one of them skipped
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] >= 1 and outcomes["passed"] >= 3
    assert outcomes["skipped"] == tanh_checks
    result.stdout.fnmatch_lines([
        "*Value r- · *: 2.0 - a*",
        "minimal example: a = Value(*",
        "bpverify: 1 to fix *",
        "*Value tanh: optional, and the submission does not define it*",
    ])
    assert "missing" not in result.stdout.str()


def test_fixtures_and_strategies_for_your_own_tests(
    pytester: pytest.Pytester, reference_path: Path
) -> None:
    pytester.makepyfile(test_mine="""
        import numpy as np
        from hypothesis import given, settings
        from bpverify.strategies import gate_cases

        @settings(max_examples=10)
        @given(gate_cases("MultiplyGate"))
        def test_multiply(bpverify_submission, case):
            gate = bpverify_submission.names["MultiplyGate"]()
            out = gate.forward(case["x"], case["y"])
            dx, dy = gate.backward(case["dout"])
            assert np.allclose(dx, np.asarray(case["y"]) * case["dout"])
    """)
    result = pytester.runpytest_subprocess(
        "--bpverify-submission", str(reference_path), "test_mine.py", "-k", "test_multiply",
        "-p", "no:randomly",
    )
    result.assert_outcomes(passed=1)


def test_bad_submission_path_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--bpverify-submission", "nope.py")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--bpverify-submission nope.py: not found*"])


def test_cs231n_rubric_collects_the_assignment_items(pytester: pytest.Pytester) -> None:
    folder = Path(__file__).parent / "cs231n_assignment"
    result = pytester.runpytest_subprocess(
        "--bpverify-submission", str(folder), "--bpverify-rubric", "cs231n",
        "--bpverify-examples", "2", "-k", "(affine_backward and not temporal) or ThreeLayerNet",
        "-n", "2",
    )
    result.assert_outcomes(passed=8)


def test_bad_rubric_is_a_usage_error(pytester: pytest.Pytester, reference_path: Path) -> None:
    result = pytester.runpytest_subprocess("--bpverify-submission", str(reference_path),
                                           "--bpverify-rubric", "nope")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*rubric 'nope': no such file and not a built-in rubric*"])
