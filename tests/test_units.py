"""Direct unit tests of the shared machinery that the end-to-end tests reach only through a
grade: the closeness rule, the options object, the wire codec, the value patterns of the
diagnoses, and the queue that shares one submission's items between processes."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import numpy as np
import pytest

from bpverify.closeness import (
    TOLERANCES,
    close,
    scale_of,
    tolerance_for,
    working_dtype,
    wrong_elements,
)
from bpverify.contract import Opaque
from bpverify.feedback.patterns import factor, generic, match, name_list, same_shape
from bpverify.grading.parallel import GradeOne, grade_items
from bpverify.model import ItemResult
from bpverify.options import FLAGS, GradeOptions, OptionError, resolve_profile
from bpverify.submission.wire import MAX_TEXT, ProtocolError, decode, encode

# --- closeness ------------------------------------------------------------------------------


def test_close_allows_rounding_and_rejects_a_real_mistake() -> None:
    e = np.array([1.0, -2.0, 3.0])
    assert close(e * (1 + 1e-12), e)
    assert not close(e * 1.01, e)  # one percent off is a mistake in float64
    assert not close(e[:2], e)  # another shape is never close
    assert not close("abc", e)  # nor is something that is not numbers


def test_the_bound_scales_with_the_largest_expected_value() -> None:
    e = np.array([1e6, 1e-3])
    g = e + np.array([0.0, 1e-5])  # 1% of the small element, 1e-11 of the array's scale
    assert scale_of(e) == 1e6
    assert close(g, e)
    err, bad = wrong_elements(g, e, TOLERANCES["float64"])
    assert not bad.any() and err[1] == pytest.approx(1e-5)


def test_special_values_are_wrong_unless_expected() -> None:
    _, bad = wrong_elements([np.nan, np.inf, 1.0], [np.nan, 1.0, 1.0], tolerance_for(np.float64))
    assert bad.tolist() == [False, True, False]


def test_float32_work_gets_the_float32_tolerance() -> None:
    e = np.array([0.1, 0.2, 0.3])
    g32 = (e * (1 + 1e-5)).astype(np.float32)  # float32 work: off by ~100 of its ulps
    assert working_dtype(g32, e) == np.float32
    assert close(g32, e)  # judged in the precision it was computed in
    assert not close(g32.astype(np.float64), e, "float64")  # far outside float64's
    assert tolerance_for(np.float32).rtol > tolerance_for(np.float64).rtol
    assert all(t.reason for t in TOLERANCES.values())


# --- options --------------------------------------------------------------------------------


def test_options_validate_and_name_the_option_the_doors_way() -> None:
    with pytest.raises(OptionError) as exc:
        GradeOptions(memory_mb=10)
    assert exc.value.option == "memory_mb"
    assert exc.value.spelled(FLAGS).startswith("--memory must be at least")
    assert str(exc.value).startswith("memory_mb must be at least")
    for bad in ({"seed": 1.5}, {"examples": 0}, {"jobs": 0}, {"sandbox": "maybe"},
                {"timeout": -1}, {"rubric": ""}, {"only": "AddGate"}, {"only": ["Nope"]}):
        with pytest.raises(OptionError):
            GradeOptions(**bad)  # type: ignore[arg-type]


def test_in_process_refuses_the_worker_limits() -> None:
    with pytest.raises(OptionError, match="timeout limits the isolated worker"):
        GradeOptions(in_process=True, timeout=3)
    assert GradeOptions(in_process=True).worker_timeout > 0


def test_examples_override_the_profile_and_the_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BPVERIFY_PROFILE", "thorough")
    assert GradeOptions().max_examples == resolve_profile("thorough").max_examples
    assert GradeOptions(profile="ci").max_examples == resolve_profile("ci").max_examples
    assert GradeOptions(profile="ci", examples=7).max_examples == 7
    monkeypatch.setenv("BPVERIFY_PROFILE", "nope")
    with pytest.raises(OptionError, match=r"from \$BPVERIFY_PROFILE"):
        resolve_profile()


# --- the wire -------------------------------------------------------------------------------


def test_plain_data_round_trips_with_dtypes_kept() -> None:
    value = {"a": (1, 2.5, None, True), "arr": np.arange(6, dtype=np.float32).reshape(2, 3),
             "scalar": np.int16(3), "list": [np.array([1.0, np.nan]), "text"],
             "opaque": Opaque("Foo", "a Foo")}
    back = decode(encode(value))
    assert back["a"] == (1, 2.5, None, True) and isinstance(back["a"], tuple)
    assert back["arr"].dtype == np.float32 and back["arr"].tolist() == value["arr"].tolist()
    assert back["scalar"] == 3 and back["scalar"].dtype == np.int16
    assert math.isnan(back["list"][0][1]) and back["list"][1] == "text"
    assert back["opaque"] == Opaque("Foo", "a Foo")


def _nested(depth: int) -> list[object]:
    value: list[object] = [1]
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("value", [object(), {1: 2}, np.array(["s"]), _nested(200)])
def test_only_plain_data_is_encoded(value: object) -> None:
    with pytest.raises(ProtocolError):
        encode(value)


def test_decode_cleans_text_and_rejects_truncated_frames() -> None:
    text = decode(encode("\x1b[31mred" + "x" * (MAX_TEXT + 10)))
    assert "\x1b" not in text and len(text) <= MAX_TEXT
    frame = encode(np.ones(4))
    with pytest.raises(ProtocolError):
        decode(frame[:-3])


# --- the value patterns of the diagnoses ----------------------------------------------------


def test_patterns_match_up_to_rounding_and_find_factors() -> None:
    e = np.array([1.0, 2.0, -3.0])
    assert match(e.astype(np.float32), e)
    assert not match(e * 1.5, e) and not match([np.nan, 2.0, -3.0], e)
    assert factor(2 * e, e) == pytest.approx(2.0)
    assert factor(e + np.array([0.0, 0.0, 1.0]), e) is None and factor(e, np.zeros(3)) is None
    assert same_shape(e, e * 2) and not same_shape(e, e[:2]) and not same_shape(e, "x")
    assert name_list(["dx"]) == "dx" and name_list(["dW1", "dW2", "db2"]) == "dW1, dW2 and db2"


def test_generic_recognises_sums_signs_and_factors() -> None:
    e = {"dW": np.array([[1.0, 2.0], [3.0, -4.0]])}
    assert generic(e, {"dW": -e["dW"]}, ["dW"], None).mistake == "sign-flipped"
    assert generic(e, {"dW": 5 * e["dW"]}, ["dW"], 5).mistake == "not-averaged"
    assert generic(e, {"dW": e["dW"] / 5}, ["dW"], 5).mistake == "averaged-not-summed"
    assert generic(e, {"dW": 3 * e["dW"]}, ["dW"], None).mistake == "constant-factor"
    noise = {"dW": e["dW"] + np.array([[0.5, -0.1], [0.2, 0.3]])}
    assert generic(e, noise, ["dW"], None) is None  # no pattern: no guess
    assert generic(e, e, [], None) is None


# --- one submission's items in several processes ------------------------------------------


def _graded(name: str) -> ItemResult:
    return ItemResult(name=name, category="gate", status="passed", checks=())


@contextlib.contextmanager
def _helper_grades() -> Iterator[GradeOne | None]:
    yield _graded


@contextlib.contextmanager
def _helper_cannot() -> Iterator[GradeOne | None]:
    yield None


@pytest.mark.parametrize("jobs,helper", [(1, _helper_grades), (2, _helper_grades),
                                         (2, _helper_cannot)])
def test_every_item_is_graded_once_and_returned_in_order(jobs: int, helper: object) -> None:
    names = [f"item{k}" for k in range(6)]
    seen: list[str] = []
    results = grade_items(names, _graded, helper, jobs=jobs,  # type: ignore[arg-type]
                          progress=seen.append)
    assert [r.name for r in results] == names
    assert all(r == _graded(r.name) for r in results)
    assert set(seen) == set(names)  # progress names each item as it starts and finishes
