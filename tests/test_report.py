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
from bpverify.output.html import to_html, to_html_fragment
from bpverify.output.svg import circuit_svg, num

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT = ROOT / "reports" / "report-screenshot.png"
FIGURES_SCREENSHOT = ROOT / "reports" / "figures-screenshot.png"

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


# --- the curriculum's families: teaching figures from their explain role ----------------------

ZOO_MISTAKES = ROOT / "tests" / "zoo" / "mistakes"
#: zoo file -> (item, its failing check that is drawn)
DRAWN = {
    "batchnorm_backward_no_mean_path": ("batchnorm_backward", "backward"),
    "max_pool_whole_window": ("max_pool_backward_naive", "backward"),
    "rnn_backward_no_carry": ("rnn_backward", "backward"),
    "adam_no_bias_correction": ("adam", "defaults"),
    "captioning_mask_from_input": ("CaptioningRNN", "loss"),
}


@pytest.fixture(scope="module")
def curriculum() -> dict[str, SubmissionResult]:
    """Zoo mistakes of the curriculum's families, graded on the item each breaks."""
    return {name: bpverify.check_submission(ZOO_MISTAKES / f"{name}.py", profile="ci",
                                            only=[item])
            for name, (item, _) in DRAWN.items()}


def _section(page: str, check: str) -> str:
    """The failure section of ``check`` on a one-item page."""
    start = page.index(f'<section class="failure" data-check="{check}"')
    return page[start:page.index("</section>", start)]


def _figure_of(page: str, check: str) -> str:
    section = _section(page, check)
    assert '<figure class="teach"' in section, f"{check} has no teaching figure"
    return section[section.index('<svg'):section.index("</svg>")]


def test_batchnorm_staged_graph_rings_the_mean_whose_path_is_missing(
        curriculum: dict[str, SubmissionResult]) -> None:
    result = curriculum["batchnorm_backward_no_mean_path"]
    check = result.item("batchnorm_backward").check("backward")
    assert check.diagnosis is not None and check.diagnosis.mistake == "bn-no-mean-path"
    svg = _figure_of(to_html(result), "backward")
    stages = re.findall(r'<g class="(node[^"]*)" data-stage="([^"]+)"', svg)
    assert [k for _, k in stages] == ["mu", "xmu", "sq", "var", "vpe", "std", "ivar", "xhat",
                                      "gx", "out"]
    assert [k for cls, k in stages if "ring" in cls] == ["mu"]
    assert re.findall(r'data-lost="([^"]+)"', svg) == ["x"]  # x → mean: no gradient back
    # at x, the submission's dx (as the check got it) beside the chain rule's, for the
    # feature of the largest error
    j = check.mismatches[0].index[1]
    got = [row[j] for row in check.got["dx"]]
    assert f"got [{num(got[0])}" in svg and "should be [" in svg
    assert 'role="img"' in svg and "<title>" in svg and "<desc>" in svg


def test_pooling_figure_shows_where_the_gradient_should_go_and_where_it_went(
        curriculum: dict[str, SubmissionResult]) -> None:
    result = curriculum["max_pool_whole_window"]
    check = result.item("max_pool_backward_naive").check("backward")
    svg = _figure_of(to_html(result), "backward")
    for title in ("dx: where it should go", "dx: where yours sent it", "one per window"):
        assert title in svg
    # every cell whose dx differs is ringed, no other
    exp, got = check.expected["dx"][0][0], check.got["dx"][0][0]
    differs = sum(e != g for er, gr in zip(exp, got) for e, g in zip(er, gr))
    assert differs and svg.count('class="cell ring"') == differs
    assert svg.count('class="window"') >= 2  # the window, on x and on both dx


def test_unrolled_rnn_rings_the_step_whose_carried_gradient_went_missing(
        curriculum: dict[str, SubmissionResult]) -> None:
    result = curriculum["rnn_backward_no_carry"]
    svg = _figure_of(to_html(result), "backward")
    stages = re.findall(r'<g class="(node[^"]*)" data-stage="([^"]+)"', svg)
    steps = [k for _, k in stages]
    assert steps == [f"h{t}" for t in range(1, len(steps) + 1)] and len(steps) >= 2
    ringed = [k for cls, k in stages if "ring" in cls]
    assert len(ringed) == 1 and "carried dh lost" in svg
    # the wire into the next step is dashed: its dprev_h never came back to the ringed one
    assert ringed[0] in re.findall(r'data-lost="([^"]+)"', svg)


def test_update_rule_formula_rings_the_missing_bias_correction(
        curriculum: dict[str, SubmissionResult]) -> None:
    page = to_html(curriculum["adam_no_bias_correction"])
    svg = _figure_of(page, "defaults")
    ringed = re.findall(r'<g class="line ring">.*?</g>', svg)
    assert len(ringed) == 2 and all("missing in yours" in g for g in ringed)
    assert "m̂ = m / (1 - β₁ᵗ)" in ringed[0] and "v̂ = v / (1 - β₂ᵗ)" in ringed[1]


def test_captioning_chain_rings_where_the_blame_points(
        curriculum: dict[str, SubmissionResult]) -> None:
    result = curriculum["captioning_mask_from_input"]
    check = result.item("CaptioningRNN").check("loss")
    assert (check.facts.where, check.facts.value) == ("CaptioningRNN.loss", "mask")
    svg = _figure_of(to_html(result), "loss")
    assert re.findall(r'<g class="node ring" data-stage="([^"]+)"', svg) == ["loss"]
    assert "temporal_softmax_loss" in svg and "wrong mask fed in" in svg


def test_no_ring_without_evidence(curriculum: dict[str, SubmissionResult]) -> None:
    """The same failures without their diagnosis or blame: drawn, but no stage, call or line
    ringed (a pooling cell stays ringed where the values differ: the check saw that)."""
    for name, (item_name, check_name) in DRAWN.items():
        result = curriculum[name]
        item = result.item(item_name)
        bare = tuple(replace(c, diagnosis=None, facts=replace(c.facts, where="", value=""))
                     if c.name == check_name else c for c in item.checks)
        if name == "adam_no_bias_correction":  # the update rules read facts.value: keep it
            bare = tuple(replace(c, diagnosis=None) if c.name == check_name else c
                         for c in item.checks)
        page = to_html(replace(result, items=(replace(item, checks=bare),)))
        section = _section(page, check_name)
        assert '<figure class="teach"' in section, name
        for ring in ('class="node ring"', 'class="line ring"', 'class="leafring"', "data-lost"):
            assert ring not in section, (name, ring)


def _rings(svg: str) -> set[str]:
    """What a drawing rings: stages and inputs by key, formula lines by their code."""
    found = set(re.findall(r'<g class="node ring" data-stage="([^"]+)"', svg))
    found |= set(re.findall(r'<rect class="leafring" data-stage="([^"]+)"', svg))
    for line in re.findall(r'<g class="line ring">(.*?)</g>', svg):
        found |= set(re.findall(r'class="code"[^>]*>([^<]*)<', line))
    return found


#: More zoo mistakes: (file, item, drawn check, what its drawing must ring and nothing else)
RINGED = [
    ("lstm_step_drops_dnext_c", "lstm_step_backward", "backward", {"c"}),
    ("net_skips_relu_backward", "TwoLayerNet", "gradients", {"r1"}),
    ("net_missing_reg_loss", "ThreeLayerNet", "regularization", {"loss"}),
    ("svm_naive_counts_correct_class", "svm_loss_naive", "loss",
     {"hinge_ij = max(0, s_j - s_y + 1), j ≠ y_i"}),
    ("dropout_not_rescaled", "dropout_forward", "train mode", {"mask = keep / q"}),
    ("batchnorm_test_mode_batch_stats", "batchnorm_forward", "test mode", {"mu", "var"}),
    ("layernorm_over_batch", "layernorm_backward", "backward", {"mu", "var"}),
    ("momentum_sign", "sgd_momentum", "update", {"v = μ·v - lr·dw"}),
    ("rnn_step_tanh_from_input", "rnn_step_backward", "backward", {"next_h"}),
    ("conv_net_W1_not_regularized", "ThreeLayerConvNet", "regularization", {"loss"}),
    ("temporal_loss_ignores_mask", "temporal_softmax_loss", "gradient",
     {"dx[n, t] = mask[n, t]·(p[n, t] - onehot(y[n, t])) / N"}),
    ("conv_db_wrong_axes", "conv_backward_naive", "backward",
     {"db = dout.sum(axis=(0, 2, 3))"}),
    ("conv_flipped_filter", "conv_forward_naive", "forward",
     {"out[n, f, i, j] = Σ x_pad[n, :, window(i, j)] · w[f] + b[f]"}),
]


@pytest.mark.parametrize(("name", "item", "check", "rings"), RINGED, ids=[r[0] for r in RINGED])
def test_each_family_rings_the_diagnosed_stage(name: str, item: str, check: str,
                                               rings: set[str]) -> None:
    result = bpverify.check_submission(ZOO_MISTAKES / f"{name}.py", profile="ci", only=[item])
    failed = result.item(item).check(check)
    assert failed.status == "failed" and failed.diagnosis is not None
    svg = _figure_of(to_html(result), check)
    assert _rings(svg) == rings
    assert "<desc>" in svg and 'role="img"' in svg


def test_word_embedding_rows_ring_where_repeated_words_lost_gradient() -> None:
    result = bpverify.check_submission(ZOO_MISTAKES / "word_embedding_fancy_add.py",
                                       profile="ci", only=["word_embedding_backward"])
    check = result.item("word_embedding_backward").check("backward")
    svg = _figure_of(to_html(result), "backward")
    assert "x: word indices (repeated in bold)" in svg and "dW: yours" in svg
    exp, got = check.expected["dW"], check.got["dW"]
    differs = sum(e != g for er, gr in zip(exp, got) for e, g in zip(er, gr))
    assert differs and svg.count('class="cell ring"') == differs


def test_figures_have_their_words_and_survive_the_json_round_trip(
        curriculum: dict[str, SubmissionResult]) -> None:
    for name, (_, check_name) in DRAWN.items():
        result = curriculum[name]
        page = to_html(result)
        section = _section(page, check_name)
        assert "The drawing in words" in section and "<li>" in section
        assert to_html(SubmissionResult.from_dict(result.to_dict())) == page
        assert "<figure" in to_html_fragment(result)  # the notebook's report draws it too


def test_curriculum_report_renders_in_headless_chromium(
        curriculum: dict[str, SubmissionResult], tmp_path: Path) -> None:
    exe = _chromium()
    if exe is None:
        pytest.skip("chromium not found on PATH (apt-get install chromium; .ci/run installs it)")
    first = curriculum["batchnorm_backward_no_mean_path"]
    items = tuple(i for r in curriculum.values() for i in r.items)
    page = tmp_path / "curriculum.html"
    page.write_text(to_html(replace(first, items=items)), encoding="utf-8")
    dom = _run_chromium(exe, tmp_path / "profile-dom", "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count('class="bp-figure"') >= len(DRAWN)
    assert dom.stdout.count('class="node ring"') >= 3 and 'class="cell ring"' in dom.stdout
    FIGURES_SCREENSHOT.unlink(missing_ok=True)
    shot = _run_chromium(exe, tmp_path / "profile-shot", f"--screenshot={FIGURES_SCREENSHOT}",
                         "--window-size=1280,1400", page.as_uri())
    assert shot.returncode == 0 and FIGURES_SCREENSHOT.stat().st_size > 20_000, \
        shot.stderr[-2000:]


def test_figures_escape_every_text_and_check_their_graph() -> None:
    from bpverify.output.figures import figure_svg
    from bpverify.teaching.figures import Figure, Formula, Graph, Grid, Line, Stage

    evil = '<script>alert("x")</script>'
    fig = Figure(evil, (
        Graph((Stage("x", evil, value=evil, grad=evil, got=evil),
               Stage("y", evil, ("x",), value=f"[{evil}, 1]", ring=True, tag=evil,
                     lost=("x",))), output=evil),
        Grid(evil, ((evil, "1"),), ringed=((0, 0),)),
        Formula(evil, (Line(evil, evil, ring=True, note=evil),)),
    ), callout=(evil,), intro=evil)
    svg = figure_svg(fig)
    assert "<script" not in svg and "&lt;script&gt;" in svg
    assert svg.count("<svg") == 1 and svg.endswith("</svg>")
    with pytest.raises(ValueError, match="reads z before any stage makes it"):
        Graph((Stage("y", "y", ("z",)),))
    with pytest.raises(ValueError, match="appears twice"):
        Graph((Stage("x", "x"), Stage("x", "x")))


RELU_TWICE = '''
import numpy as np

def relu_forward(x):
    return np.maximum(0, x), x

def relu_backward(dout, cache):
    return dout * (cache > 0) * 2.0
'''


def test_a_failed_gradient_check_is_drawn_as_numerical_against_analytic(tmp_path: Path) -> None:
    """The lecture's two gradients side by side where they disagree most: the numerical one
    (centred differences of the submission's own forward) and the analytic one (its backward),
    the analytic one ringed because the check measured it off."""
    path = tmp_path / "relu_twice.py"
    path.write_text(RELU_TWICE)
    result = bpverify.check_submission(path, profile="ci", only=["relu_backward"])
    check = result.item("relu_backward").check("numerical")
    assert check.status == "failed" and check.mismatches
    m = check.mismatches[0]
    assert m.got == pytest.approx(2 * m.expected)
    svg = _figure_of(to_html(result), "numerical")
    assert _rings(svg) == {f"analytic gradient: {m.value}[{', '.join(map(str, m.index))}] "
                           "from your relu_backward"}
    assert "numerical gradient: (f(x[" in svg
