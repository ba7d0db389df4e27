"""The cs231n rubric grades a CS231n assignment folder as it is handed in."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import bpverify

ASSIGNMENT = Path(__file__).parent / "cs231n_assignment"
LAYERS = ["affine_forward", "affine_backward", "relu_forward", "relu_backward",
          "softmax_loss", "svm_loss"]
#: The convolutional layers (bpverify/families/convolution/), also in cs231n/layers.py.
CONV = ["conv_forward_naive", "conv_backward_naive", "max_pool_forward_naive",
        "max_pool_backward_naive"]


@pytest.fixture
def assignment(tmp_path: Path) -> Path:
    return Path(shutil.copytree(ASSIGNMENT, tmp_path / "assignment2"))


def test_assignment_folder_graded_as_is(assignment: Path) -> None:
    result = bpverify.check_submission(assignment, rubric="cs231n", profile="ci")
    assert result.rubric == "cs231n"
    graded = [*LAYERS, "TwoLayerNet", "ThreeLayerNet", *CONV, "FullyConnectedNet"]
    assert sorted(i.name for i in result.items if i.name in graded) == sorted(graded)
    failures = {i.name: [c.message for c in i.checks if not c.passed] for i in result.items
                if i.status != "passed" and i.name in graded}
    assert not failures
    # The folder is assignment 2's: the items of modules it lacks (rnn_layers.py) are not
    # implemented, and cost it nothing it could have earned here.
    others = [i for i in result.items if i.name not in graded]
    assert all(i.status == "not implemented" for i in others), others
    assert result.score == sum(i.max_score for i in result.items if i.name in graded) == 79.0
    # Its FullyConnectedNet has neither batch norm nor dropout written yet: those checks are
    # not judged, and the plain net's L2 term and gradients are.
    net = result.item("FullyConnectedNet")
    assert {c.name for c in net.checks if c.status == "passed"} == {"regularization", "numerical"}


def test_older_neural_net_two_layer_net(assignment: Path) -> None:
    (assignment / "cs231n/classifiers/fc_net.py").unlink()
    (assignment / "cs231n/classifiers/__init__.py").write_text("")
    result = bpverify.check_submission(assignment, rubric="cs231n", profile="ci",
                                       only=["TwoLayerNet", "ThreeLayerNet"])
    two, three = result.items
    assert two.status == "passed", [c.message for c in two.checks]
    assert three.status == "not implemented"


def test_python2_layers_cost_only_what_needs_them(assignment: Path) -> None:
    layers = assignment / "cs231n/layers.py"
    layers.write_text(layers.read_text().replace("    return out, cache\n",
                                                 "    print 'done'\n    return out, cache\n", 1))
    result = bpverify.check_submission(assignment, rubric="cs231n", max_examples=3)
    py2 = "layers.py is Python 2 (a print statement on line 11); bpverify runs Python 3"
    assert f"cs231n/layers.py did not import: {py2}" in result.load_error
    items = {i.name: i for i in result.items}
    for name in [*LAYERS, *CONV]:
        assert items[name].status == "not implemented" and py2 in items[name].message
    # fc_net.py imports layers.py; neural_net.py does not, and its TwoLayerNet is graded.
    assert "fc_net.py imports cs231n/layers.py, which did not import" in \
        items["ThreeLayerNet"].message
    assert items["TwoLayerNet"].status == "passed"
    assert any("classifiers/__init__.py did not import" in n for n in result.notes)


def test_row_vector_biases_get_a_clear_message(assignment: Path) -> None:
    fc = assignment / "cs231n/classifiers/fc_net.py"
    fc.write_text(fc.read_text().replace(
        "dx, grads['W1'], grads['b1'] = affine_relu_backward(dh, cache1)",
        "dx, grads['W1'], grads['b1'] = affine_relu_backward(dh, cache1)\n"
        "        grads['b1'] = grads['b1'].reshape(1, -1)"))
    result = bpverify.check_submission(assignment, rubric="cs231n", max_examples=5,
                                       only=["TwoLayerNet"])
    check = result.items[0].check("gradients")
    assert check.kind == "wrong-shape"
    assert "returned b1 of shape (1," in check.message and "expected shape (" in check.message


def test_not_an_assignment_folder(tmp_path: Path) -> None:
    result = bpverify.check_submission(tmp_path, rubric="cs231n", max_examples=2)
    assert "has no cs231n/ folder" in result.load_error


def test_a_layer_left_out_is_still_missing_and_costs_its_points(
    assignment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # issue 23 made some items optional (the autograd rubric's extra operations); the cs231n
    # rubric's are all required: a layers.py without relu_backward is "1 missing", not free
    from bpverify.cli import main

    layers = assignment / "cs231n" / "layers.py"
    text = layers.read_text()
    start = text.index("def relu_backward")
    layers.write_text(text[:start] + text[text.index("def svm_loss"):])
    code = main(["grade", str(assignment), "--profile", "ci", "--only", "relu_forward",
                 "--only", "relu_backward", "--json", str(assignment.parent / "r.json")])
    out = capsys.readouterr().out
    assert code == 0
    assert "1/2 items passed · 1 missing, " in out
    assert "to fix" not in out
    result = bpverify.SubmissionResult.from_dict(
        json.loads((assignment.parent / "r.json").read_text()))
    assert result.rubric == "cs231n"
    assert result.missing_items == ("relu_backward",) and result.absent_items == ()
    item = result.item("relu_backward")
    assert item.required and item.score == 0 and item.max_score > 0
    assert result.max_score > result.score


STUBS = {
    # the starter code's placeholders, as CS231n hands them out (2017 on) and as nbgrader
    # releases a solution region
    "affine_forward": ("    out = x.reshape(N, -1).dot(w) + b\n", "    pass\n"),
    "affine_backward": ("""    N = x.shape[0]
    dx = dout.dot(w.T).reshape(x.shape)
    dw = x.reshape(N, -1).T.dot(dout)
    db = np.sum(dout, axis=0)
""", "    pass\n"),
    "relu_backward": ("""    dx, x = None, cache
    dx = dout * (x > 0)
    return dx""", "    raise NotImplementedError()"),
}


def test_starter_stubs_are_missing_not_mistakes(
    assignment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bpverify.cli import main

    layers = assignment / "cs231n" / "layers.py"
    text = layers.read_text()
    for old, new in STUBS.values():
        assert old in text
        text = text.replace(old, new)
    layers.write_text(text)
    code = main(["grade", str(assignment), "--profile", "ci", *(
        a for n in [*STUBS, "relu_forward"] for a in ("--only", n)),
        "--json", str(assignment.parent / "r.json")])
    out = capsys.readouterr().out
    assert code == 0
    assert "1/4 items passed · 3 missing, " in out and "to fix" not in out
    result = bpverify.SubmissionResult.from_dict(
        json.loads((assignment.parent / "r.json").read_text()))
    assert set(result.missing_items) == set(STUBS) and result.failed_items == ()
    for name in STUBS:
        item = result.item(name)
        assert item.score == 0 < item.max_score
        assert item.message.startswith("not written yet: "), item.message
    assert "NotImplementedError" in result.item("relu_backward").message


def test_a_real_mistake_next_to_none_is_still_to_fix(assignment: Path) -> None:
    # one gradient left None while the others are computed: a mistake, not a stub
    layers = assignment / "cs231n" / "layers.py"
    layers.write_text(layers.read_text().replace("db = np.sum(dout, axis=0)", "db = None"))
    result = bpverify.check_submission(assignment, rubric="cs231n", profile="ci",
                                       only=["affine_backward"])
    assert result.failed_items == ("affine_backward",) and result.missing_items == ()
