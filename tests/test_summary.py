"""The class summary: CSV, HTML and terminal views of many results, and `bpverify summary`.

Unit tests build results by hand (failures whose diagnosis is known from their facts alone,
diagnosed as the engine does when it grades an item);
the end-to-end test grades realistic zoo mistakes through `bpverify grade --out` and then
summarizes the same bpverify.json files again with `bpverify summary`.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console

from bpverify.cli import main
from bpverify.feedback import mistakes
from bpverify.feedback.diagnose import diagnose_item
from bpverify.model import CheckResult, Diagnosis, Facts, ItemResult, Status, SubmissionResult
from bpverify.output.summary import read_result, render_summary, summarize, to_csv, to_summary_html

ROOT = Path(__file__).resolve().parent.parent
MISTAKES = ROOT / "tests" / "zoo" / "mistakes"


def _shape(value: str, got: str, expected: str, check: str = "backward") -> CheckResult:
    """A wrong-shape failure: diagnose reads the mistake from its facts."""
    return CheckResult(check, "failed", kind="wrong-shape",
                       message=f"affine_backward returned {value} of shape {got}; "
                               f"expected shape {expected}",
                       facts=Facts(where="affine_backward", value=value,
                                   got_shape=_dims(got), expected_shape=_dims(expected)))


def _dims(shape: str) -> tuple[int, ...]:
    return tuple(int(d) for d in shape.strip("()").split(",") if d.strip())


def _result(name: str, *items: ItemResult, duration: float = 1.0,
            load_error: str = "") -> SubmissionResult:
    return SubmissionResult(submission=name, seed=0, profile="ci", items=items,
                            bpverify_version="0.1.0", duration_s=duration,
                            load_error=load_error)


def _affine(status: Status, *checks: CheckResult, score: float) -> ItemResult:
    return diagnose_item(ItemResult("affine_backward", "layer", status, checks=checks,
                                    score=score, max_score=6.0))


def _relu(status: Status, *checks: CheckResult, score: float) -> ItemResult:
    return diagnose_item(ItemResult("relu_backward", "layer", status, checks=checks,
                                    score=score, max_score=4.0))


PASSED = (CheckResult("backward", "passed"),)
MUTATES = CheckResult("hygiene", "failed", kind="mutates-input", message="dout changed",
                      expected={"dout": [1.0]})


def _class() -> list[SubmissionResult]:
    return [
        _result("alice", _affine("passed", *PASSED, score=6), _relu("passed", *PASSED, score=4)),
        # the same mistake seen by two checks counts once
        _result("bob", _affine("failed", _shape("db", "(4, 3)", "(3,)"),
                               _shape("db", "(4, 3)", "(3,)", check="numerical"), score=2),
                _relu("failed", MUTATES, score=3)),
        _result("carol", _affine("failed", _shape("db", "(2, 5)", "(5,)"), score=3),
                _relu("not implemented", score=0)),
        _result("dave", _affine("failed", CheckResult("backward", "failed", kind="wrong-values",
                                                      message="no pattern"), score=1),
                load_error="SyntaxError in dave.py, line 3"),
    ]


def test_summary_counts_each_mistake_once_per_submission_and_item() -> None:
    summary = summarize(_class())
    affine, relu = summary.items
    assert (affine.name, affine.graded, affine.passed, affine.failed) == ("affine_backward", 4,
                                                                         1, 3)
    [mistake] = affine.mistakes
    assert mistake.tag == "not-summed-over-batch"
    assert (mistake.count, mistake.submissions) == (2, ("bob", "carol"))
    assert mistake.text == "50% did not sum db over the batch"
    assert affine.unexplained == ("dave",)  # failed, but no known mistake
    assert affine.mean_score == 3.0 and affine.max_score == 6.0
    # dave was not graded on relu_backward: shares are of the three who were
    assert (relu.graded, relu.passed, relu.not_implemented) == (3, 1, 1)
    assert [m.text for m in relu.mistakes] == ["33% changed dout in place"]
    assert summary.bins == (0, 1, 0, 1, 0, 1, 0, 0, 0, 1)
    assert [round(r.percent, 1) for r in summary.submissions] == [100.0, 50.0, 30.0, 16.7]


def test_phrases_name_every_value_the_class_got_wrong() -> None:
    results = [
        _result("a", _affine("failed", _shape("db", "(4, 3)", "(3,)"), score=0)),
        _result("b", _affine("failed", _shape("dw", "(4, 3, 5)", "(3, 5)"), score=0)),
    ]
    [mistake] = summarize(results).items[0].mistakes
    assert mistake.text == "100% did not sum db or dw over the batch"


def test_an_unknown_tag_is_shown_as_it_is() -> None:
    check = replace(_shape("db", "(4, 3)", "(3,)"),
                    diagnosis=Diagnosis("brand-new-tag", "x", "y"))  # from a newer bpverify
    results = [_result("a", ItemResult("affine_backward", "layer", "failed", checks=(check,),
                                       max_score=6.0))]
    assert summarize(results).items[0].mistakes[0].text == "100% brand-new-tag"


def test_every_diagnosis_tag_has_a_phrase() -> None:
    """Every mistake diagnose can name is in the catalogue, with a phrase and an idea."""
    files = [ROOT / "bpverify" / "feedback" / f for f in ("diagnose.py", "patterns.py")]
    files += sorted((ROOT / "bpverify" / "families").glob("*/feedback.py"))
    source = "".join(f.read_text(encoding="utf-8") for f in files)
    tags = set(re.findall(r'found\(\s*"([a-z0-9-]+)"', source))
    assert len(tags) > 30
    mistakes.add_families()  # the families' own mistakes join the catalogue
    missing = sorted(tags - set(mistakes.MISTAKES))
    assert not missing, f"add {missing} to MISTAKES in bpverify/feedback/mistakes.py"
    assert all(m.phrase and m.phrase != m.id for m in mistakes.MISTAKES.values())


def test_csv_has_one_row_per_submission_in_a_stable_order_without_timings() -> None:
    text = to_csv(summarize(_class()))
    assert text == (
        "submission,score,max_score,percent,affine_backward,relu_backward\n"
        "alice,10,10,100.0,6,4\n"
        "bob,5,10,50.0,2,3\n"
        "carol,3,10,30.0,3,0\n"
        "dave,1,6,16.7,1,\n"
    )
    slower = [_result(r.submission, *r.items, duration=99.0, load_error=r.load_error)
              for r in _class()]
    assert to_csv(summarize(slower)) == text
    assert to_csv(summarize(_class(), names=["w", "x", "y", "z"])).splitlines()[1][:2] == "w,"


def test_html_is_self_contained_escaped_and_shows_the_mistakes() -> None:
    results = [*_class(), _result("<script>alert(1)</script>",
                                  _affine("passed", *PASSED, score=6))]
    html = to_summary_html(summarize(results))
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert "50% did not sum db over the batch" not in html  # five submissions now
    assert "40% did not sum db over the batch" in html
    assert "33% changed dout in place" in html
    assert "20% failed in another way" in html
    svg = re.search(r'<svg class="hist".*?</svg>', html, re.S)
    assert svg is not None and svg.group(0).count("<rect") == 10
    assert "1 submission did not import cleanly" in html
    # nothing is loaded from the network (the SVG namespace is a name, not a request)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "@import" not in html


def test_terminal_summary_is_short() -> None:
    console = Console(record=True, width=120)
    render_summary(summarize(_class()), console)
    text = console.export_text()
    assert "class summary: 4 submissions · mean 49.2% · median 40.0%" in text
    assert "50% did not sum db over the batch" in text
    assert "1 submission(s) did not import cleanly" in text
    assert len(text.splitlines()) < 15


def test_grade_several_then_summarize_the_same_results(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    """A class graded in one run, and the same bpverify.json files summarized again."""
    subs = [ROOT / "reference", MISTAKES / "affine_db_first_row.py",
            MISTAKES / "affine_db_mean.py", MISTAKES / "relu_backward_inplace.py"]
    out = tmp_path / "results"
    # The zoo's files import the reference, so they run in-process (pytest puts the root on
    # sys.path, and spawned pool processes inherit it).
    code = main(["grade", *map(str, subs), "--in-process", "--jobs", "2", "--examples", "2",
                 "--only", "affine_backward", "--only", "relu_backward", "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0
    assert "class summary: 4 submissions" in text
    assert "50% did not sum db over the batch" in text
    assert "graded 4 submissions" in text  # the progress bar's last line
    rows = (out / "summary.csv").read_text().splitlines()
    assert rows[0] == "submission,score,max_score,percent,affine_backward,relu_backward"
    assert [r.split(",")[0] for r in rows[1:]] == ["reference", "affine_db_first_row",
                                                   "affine_db_mean", "relu_backward_inplace"]
    assert rows[1] == "reference,10,10,100.0,6,4"
    html = (out / "summary.html").read_text()
    assert "50% did not sum db over the batch" in html
    assert "25% changed dout in place" in html

    again = tmp_path / "again"
    files = [out / name / "bpverify.json" for name in ("reference", "affine_db_first_row",
                                                       "affine_db_mean", "relu_backward_inplace")]
    assert main(["summary", *map(str, files), "--out", str(again)]) == 0
    assert "50% did not sum db over the batch" in capsys.readouterr().out
    assert (again / "summary.csv").read_text() == (out / "summary.csv").read_text()
    assert (again / "summary.html").read_text() == html


def test_one_submission_gets_no_class_summary(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["grade", str(ROOT / "reference"), "--in-process", "--examples", "2",
                 "--only", "AddGate", "--out", str(tmp_path)]) == 0
    assert "class summary" not in capsys.readouterr().out
    assert not (tmp_path / "summary.csv").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file; expected the bpverify.json"),
        ("not json", "not JSON (Expecting value"),
        ('{"score": 1, "tests": []}', "is Gradescope's results.json, not a bpverify result"),
        ('{"submission": "x"}', "not a bpverify result (no 'items' key)"),
        ("[1, 2]", "not a bpverify result (a JSON list)"),
    ],
)
def test_summary_of_a_file_that_is_not_a_result_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    good = tmp_path / "good" / "bpverify.json"
    good.parent.mkdir()
    good.write_text(_class()[0].to_json())
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content)
    assert main(["summary", str(good), str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"bpverify: error: {bad}") and len(err.splitlines()) == 1
    assert message in err


def test_read_result_round_trips_a_written_result(tmp_path: Path) -> None:
    result = _class()[1]
    path = tmp_path / "bpverify.json"
    path.write_text(json.dumps(result.to_dict()))
    assert read_result(path) == result


#: A student whose batchnorm_backward leaves out the path through the mean, and whose
#: batchnorm_backward_alt is the same function: the same mistake on two items of one family.
TWICE = '''
import numpy as np

from reference import *  # noqa: F403


def batchnorm_backward(dout, cache):
    x, x_hat, mean, var, inv_std, gamma, eps = cache
    n = x.shape[0]
    dx_hat = dout * gamma
    centred = x - mean
    dvar = np.sum(dx_hat * centred, axis=0) * -0.5 * (var + eps) ** -1.5
    dx = dx_hat * inv_std + 2.0 * centred * dvar / n
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


batchnorm_backward_alt = batchnorm_backward
'''


def test_a_family_counts_its_mistakes_across_its_items(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    """The normalization family's mistakes over batchnorm_backward and _alt, each submission
    once per mistake, however many of the family's items show it."""
    twice = tmp_path / "twice.py"
    twice.write_text(TWICE)
    subs = [ROOT / "reference", MISTAKES / "batchnorm_backward_no_mean_path.py",
            MISTAKES / "batchnorm_backward_alt_no_var_path.py", twice]
    out = tmp_path / "results"
    code = main(["grade", *map(str, subs), "--in-process", "--jobs", "1", "--profile", "ci",
                 "--only", "batchnorm_backward", "--only", "batchnorm_backward_alt",
                 "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0
    summary = summarize([read_result(out / p.stem / "bpverify.json") for p in subs],
                        names=[p.stem for p in subs])
    [family] = summary.families
    assert (family.name, family.items, family.graded) == (
        "normalization", ("batchnorm_backward", "batchnorm_backward_alt"), 4)
    counts = {m.tag: (m.count, m.submissions) for m in family.mistakes}
    assert counts == {
        "bn-no-mean-path": (2, ("batchnorm_backward_no_mean_path", "twice")),
        "bn-no-var-path": (1, ("batchnorm_backward_alt_no_var_path",)),
    }
    # per item, the twice-made mistake counts on each item it shows in
    by_item = {i.name: {m.tag: m.count for m in i.mistakes} for i in summary.items}
    assert by_item == {"batchnorm_backward": {"bn-no-mean-path": 2},
                       "batchnorm_backward_alt": {"bn-no-mean-path": 1, "bn-no-var-path": 1}}
    assert "normalization: 50% left the path through the mean out of dx" in text
    html = (out / "summary.html").read_text()
    families = html[html.index("Mistakes by family"):]
    assert '<tr data-family="normalization">' in families
    assert "50% left the path through the mean out of dx" in families
    assert "25% left the path through the variance out of dx" in families
