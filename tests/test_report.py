"""The HTML report: self-contained, escaped, one diagram per circuit trace, seen in a browser."""

from __future__ import annotations

import re
import shutil
import subprocess
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

import bpverify
from bpverify import cli
from bpverify.model import CheckResult, ElementMismatch, GateStep, ItemResult, SubmissionResult
from bpverify.output.html import to_html
from bpverify.output.svg import circuit_svg

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT = ROOT / "reports" / "report-screenshot.png"

#: A student whose 1/x gate drops the minus sign: the sigmoid neuron fails at its last gate,
#: and every gate before it only receives the wrong gradient.
BROKEN = """
import numpy as np
from reference import *  # noqa: F403


class ReciprocalGate:
    def forward(self, x):
        self.x = x
        return 1.0 / x

    def backward(self, dz):
        return dz / (self.x * self.x)
"""
ITEMS = ["circuit (x+y)*z", "circuit sigmoid neuron"]


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("student") / "student.py"
    path.write_text(textwrap.dedent(BROKEN))
    return path


@pytest.fixture(scope="module")
def graded(broken: Path) -> SubmissionResult:
    return bpverify.check_submission(broken, profile="ci", only=ITEMS)


@pytest.fixture(scope="module")
def page(graded: SubmissionResult) -> str:
    return to_html(graded)


def test_circuits_drawn_with_guilty_and_affected_gates(graded: SubmissionResult,
                                                       page: str) -> None:
    neuron = graded.item("circuit sigmoid neuron")
    assert neuron.check("backward").status == "failed"
    # the failing backward check and lecture values of the neuron, the passing (x+y)z
    assert page.count("<svg") == 3
    assert re.search(r'class="gate guilty" data-gate="ReciprocalGate"', page)
    # the seven gates before 1/x received its wrong gradient: affected, not guilty
    backward = page[page.index('data-check="backward"'):]
    svg = backward[:backward.index("</svg>")]
    assert svg.count('class="gate affected"') == 7 and svg.count('class="gate guilty"') == 1
    assert "returned the wrong gradient" in svg and "should be" in svg
    # the passing circuit is drawn too, at the lecture's values, with nothing highlighted
    passing = page[page.index('id="item-circuit-x-y-z"'):page.index('id="item-circuit-sigmoid')]
    assert "<svg" in passing and "gate guilty" not in passing and "gate affected" not in passing


def test_failure_shows_example_expected_got_mismatches_and_diagnosis(
        graded: SubmissionResult, page: str) -> None:
    check = graded.item("circuit sigmoid neuron").check("backward")
    assert "Minimal example" in page and "Expected and got" in page
    assert "Elements that differ" in page and "abs. error" in page
    assert "Diagnosis:" in page and "The 1/x gate (ReciprocalGate, computing f)" in page
    for m in check.mismatches:
        assert f"{m.value}" in page
    assert "Guilty: ReciprocalGate" in page
    assert f"--seed {graded.seed}" in page  # the reproduce command


def test_page_is_self_contained(page: str) -> None:
    assert "<link" not in page and "<script" not in page and "@import" not in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", page))
    assert urls <= {"http://www.w3.org/2000/svg"}  # the SVG namespace, never fetched


def test_everything_from_the_submission_is_escaped() -> None:
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    step = GateStep(evil, evil, (evil, "y"), evil, (1.0, 2.0), 2.0, 2.0, 1.0, (2.0, 1.0),
                    (2.0, 1.0), (2.0, 1.0), True, False)
    check = CheckResult(
        name=evil, status="failed", message=evil, kind=evil, example={evil: evil},
        expected={evil: [1.0]}, got={evil: evil},
        mismatches=(ElementMismatch(evil, (0,), 1.0, 2.0, 1.0, 0.33),), mismatch_count=1,
        trace=(step,),
    )
    result = SubmissionResult(
        submission=evil, seed=0, profile="ci", bpverify_version="0",
        items=(ItemResult(name=evil, category="gate", status="failed", checks=(check,),
                          message=evil),),
        load_error=evil,
    )
    html = to_html(result)
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;" in html


def test_big_arrays_are_shown_compactly() -> None:
    big = [[float(i * 100 + j) for j in range(100)] for i in range(100)]
    check = CheckResult(name="backward", status="failed", kind="wrong-values", message="m",
                        example={"x": big}, expected={"dW": big}, got={"dW": big})
    result = SubmissionResult("s.py", 0, "ci", (ItemResult("affine_backward", "layer",
                                                           "failed", (check,)),), "0")
    html = to_html(result)
    assert "shape (100, 100)" in html and "..." in html
    assert "5050" not in html  # an element from the middle is left out
    assert len(html) < 60_000


def test_result_model_round_trip_gives_the_same_page(graded: SubmissionResult,
                                                     page: str) -> None:
    assert to_html(SubmissionResult.from_dict(graded.to_dict())) == page


def test_svg_escapes_and_lays_out_left_to_right() -> None:
    steps = [
        GateStep("AddGate", "+", ("x", "y"), "q", (-2.0, 5.0), 3.0, 3.0, -4.0, (-4.0, -4.0),
                 (-4.0, -4.0), (1.0, 1.0), True, True),
        GateStep("MultiplyGate", "*", ("q", "z"), "f", (3.0, -4.0), -12.0, -12.0, 1.0,
                 (-4.0, 3.0), (-4.0, 3.0), (-4.0, 3.0), True, True),
    ]
    svg = circuit_svg(steps, inputs=("x", "y", "z"), label="<f>")
    xs = [float(v) for v in re.findall(r'<circle cx="([\d.]+)"', svg)]
    assert xs[0] < xs[1]  # the multiply gate is a layer to the right of the add gate
    assert 'aria-label="&lt;f&gt;"' in svg
    assert ">-12<" in svg and ">-4<" in svg and ">3<" in svg
    # Each drawing's arrowhead has an id of its own, which every arrow of it uses.
    (arrow,) = set(re.findall(r'<marker id="([^"]+)"', svg))
    assert f"url(#{arrow})" in svg and "url(#bp-arrow)" not in svg
    other = circuit_svg(steps[:1], inputs=("x", "y"), label="q")
    assert arrow not in other and circuit_svg(steps, inputs=("x", "y", "z"), label="<f>") == svg


def test_grade_html_option(broken: Path, tmp_path: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "nested" / "report.html"
    code = cli.main(["grade", str(broken), "--in-process", "--examples", "3",
                     "--only", "circuit (x+y)*z", "--html", str(out)])
    assert code == 0, capsys.readouterr()
    assert f"wrote{out}" in "".join(capsys.readouterr().out.split())  # rich may wrap it
    assert "<svg" in out.read_text()


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _run_chromium(exe: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )


def test_report_renders_in_headless_chromium(graded: SubmissionResult, tmp_path: Path) -> None:
    exe = _chromium()
    if exe is None:
        pytest.skip("chromium not found on PATH (apt-get install chromium; .ci/run installs it)")
    # Lead with the failing circuit so the screenshot shows the guilty gate.
    shown = replace(graded, items=tuple(reversed(graded.items)))
    page = tmp_path / "report.html"
    page.write_text(to_html(shown), encoding="utf-8")
    dom = _run_chromium(exe, tmp_path / "profile-dom", "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "<svg" in dom.stdout and 'class="gate guilty"' in dom.stdout
    assert 'class="callout"' in dom.stdout
    SCREENSHOT.parent.mkdir(exist_ok=True)
    SCREENSHOT.unlink(missing_ok=True)
    shot = _run_chromium(exe, tmp_path / "profile-shot", f"--screenshot={SCREENSHOT}",
                         "--window-size=1280,1500", page.as_uri())
    assert shot.returncode == 0 and SCREENSHOT.stat().st_size > 20_000, shot.stderr[-2000:]
