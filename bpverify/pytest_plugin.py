"""The pytest plugin: ``pytest --bpverify-submission PATH`` collects one test per item check.

Registered through the ``pytest11`` entry point, so it is active wherever bpverify is installed
and does nothing unless a submission is given.  Test ids name the submission's item and check
(``solution.py::MultiplyGate::backward``); it works under pytest-xdist, and the header prints
the seed and the command that reproduces the run.

Fixtures for your own tests: ``bpverify_submission`` (the loaded submission; its names are in
``.names``), ``bpverify_executor`` (runs scenarios against it) and ``bpverify_seed``.
Strategies live in :mod:`bpverify.strategies`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

OPTION_SUBMISSION = "bpverify_submission"
OPTION_SEED = "bpverify_seed"
OPTION_PROFILE = "bpverify_profile"
OPTION_EXAMPLES = "bpverify_examples"
OPTION_RUBRIC = "bpverify_rubric"

_LOADED = pytest.StashKey[Any]()
_RUBRIC = pytest.StashKey[Any]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("bpverify", "backpropagation checks (bpverify)")
    group.addoption("--bpverify-submission", dest=OPTION_SUBMISSION, metavar="PATH",
                    help="grade this submission (.py file or package folder): one test per "
                    "item check")
    group.addoption("--bpverify-seed", dest=OPTION_SEED, type=int, default=None,
                    help="Hypothesis seed (default 0)")
    group.addoption("--bpverify-profile", dest=OPTION_PROFILE, default=None,
                    choices=["dev", "ci", "thorough"],
                    help="examples per check (default: $BPVERIFY_PROFILE or dev)")
    group.addoption("--bpverify-examples", dest=OPTION_EXAMPLES, type=int, default=None,
                    help="examples per check (overrides the profile)")
    group.addoption("--bpverify-rubric", dest=OPTION_RUBRIC, default=None, metavar="NAME|FILE",
                    help="which items, and how the submission is laid out (default: default; "
                    "cs231n grades an assignment folder)")
    for name, help_ in (
        (OPTION_SUBMISSION, "default for --bpverify-submission"),
        (OPTION_SEED, "default for --bpverify-seed"),
        (OPTION_PROFILE, "default for --bpverify-profile"),
        (OPTION_RUBRIC, "default for --bpverify-rubric"),
    ):
        parser.addini(name, help_, default=None)


def _opt(config: pytest.Config, name: str) -> Any:
    value = config.getoption(name)
    return value if value is not None else config.getini(name)


def _settings(config: pytest.Config) -> tuple[Path | None, int, str | None, int | None]:
    sub = _opt(config, OPTION_SUBMISSION)
    seed = _opt(config, OPTION_SEED)
    return (
        Path(sub) if sub else None,
        int(seed) if seed not in (None, "") else 0,
        _opt(config, OPTION_PROFILE) or None,
        config.getoption(OPTION_EXAMPLES),
    )


def pytest_configure(config: pytest.Config) -> None:
    sub, _, profile, examples = _settings(config)
    if sub is not None and not sub.exists():
        raise pytest.UsageError(
            f"--bpverify-submission {sub}: not found; expected a .py file or a package folder"
        )
    if examples is not None and examples < 1:
        raise pytest.UsageError(f"--bpverify-examples must be at least 1, got {examples}")
    if sub is not None:
        from bpverify.grading.rubric import RubricError, load_rubric

        try:
            config.stash[_RUBRIC] = load_rubric(_opt(config, OPTION_RUBRIC) or "default")
        except RubricError as exc:
            raise pytest.UsageError(str(exc)) from None
    if profile is not None:
        from bpverify.grading.engine import resolve_profile

        try:
            resolve_profile(profile)
        except ValueError as exc:
            raise pytest.UsageError(str(exc)) from None


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    sub, seed, profile, _ = _settings(config)
    if sub is None:
        return None
    from bpverify.grading.engine import resolve_profile

    prof = resolve_profile(profile).name
    rubric = config.stash[_RUBRIC].name
    return [
        f"bpverify: submission {sub} · rubric {rubric} · seed {seed} · profile {prof}",
        f"bpverify: reproduce with --bpverify-submission {sub} --bpverify-rubric {rubric} "
        f"--bpverify-seed {seed} --bpverify-profile {prof}",
    ]


def _loaded(config: pytest.Config) -> tuple[Any, dict[str, str]]:
    """The submission, loaded once per process (each xdist worker loads its own)."""
    if _LOADED not in config.stash:
        from bpverify.submission import InProcessExecutor, LoadSpec

        sub, *_ = _settings(config)
        rubric = config.stash[_RUBRIC]
        spec = LoadSpec(layout=rubric.layout, options=dict(rubric.options), lookup=rubric.lookup)
        loaded = spec.load(sub)  # type: ignore[arg-type]
        executor = InProcessExecutor(loaded)
        config.stash[_LOADED] = (executor, executor.call("inventory"))
    return config.stash[_LOADED]  # type: ignore[no-any-return,unused-ignore]


class BpverifyFailure(Exception):
    """A failed check, already explained."""


class CheckItem(pytest.Item):
    """One check of one contract item."""

    def __init__(self, *, item_name: str, check_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.item_name, self.check_name = item_name, check_name

    def runtest(self) -> None:
        from bpverify.contract import item_named
        from bpverify.grading.checks import checks_for
        from bpverify.grading.engine import _lecture_trace, resolve_profile, run_check

        executor, inventory = _loaded(self.config)
        item = item_named(self.item_name)
        missing = [n for n in item.needs if n not in inventory["names"]]
        if missing:
            why = f" (import failed: {'; '.join(inventory['load_errors'])})" \
                if inventory["load_errors"] else ""
            raise BpverifyFailure(f"not implemented: {', '.join(missing)}{why}")
        sub, seed, profile, examples = _settings(self.config)
        if self.check_name == "lecture values":
            result = _lecture_trace(item, executor)
        else:
            check = next(c for c in checks_for(item) if c.name == self.check_name)
            n = examples or resolve_profile(profile).max_examples
            result = run_check(item.name, check, executor, seed=seed, max_examples=n)
        if result.status == "failed":
            lines = [f"{self.item_name} · {self.check_name}: {result.message}"]
            if result.example is not None:
                lines.append(f"minimal example: {result.example!r}"[:2000])
            lines.append(f"reproduce: bpverify grade {sub} --only '{self.item_name}' "
                         f"--seed {seed}")
            raise BpverifyFailure("\n".join(lines))
        if result.status == "skipped":
            pytest.skip(result.message)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str:
        if isinstance(excinfo.value, BpverifyFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"bpverify: {self.item_name} · {self.check_name}"


class ItemCollector(pytest.Collector):
    """The checks of one contract item."""

    def __init__(self, *, item_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.item_name = item_name

    def collect(self) -> Iterator[CheckItem]:
        from bpverify.contract import item_named
        from bpverify.grading.checks import checks_for

        item = item_named(self.item_name)
        names = [c.name for c in checks_for(item)]
        if item.category == "circuit":
            names.append("lecture values")
        for check in names:
            yield CheckItem.from_parent(self, name=check, item_name=item.name, check_name=check)


class SubmissionCollector(pytest.Collector):
    """Every contract item of the submission."""

    def collect(self) -> Iterator[ItemCollector]:
        for name in self.config.stash[_RUBRIC].item_names:
            yield ItemCollector.from_parent(self, name=name, item_name=name)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    sub, *_ = _settings(config)
    if sub is None:
        return
    root = SubmissionCollector.from_parent(session, name=sub.name, path=sub.resolve())
    for collector in root.collect():
        # Through the collection hooks, so the terminal counts and -k/-m select our items.
        session.ihook.pytest_collectstart(collector=collector)
        report = collector.ihook.pytest_make_collect_report(collector=collector)
        session.ihook.pytest_collectreport(report=report)
        items.extend(x for x in report.result if isinstance(x, pytest.Item))


@pytest.fixture(scope="session")
def bpverify_seed(pytestconfig: pytest.Config) -> int:
    """The seed of this run (``--bpverify-seed``, default 0)."""
    return _settings(pytestconfig)[1]


@pytest.fixture(scope="session")
def bpverify_executor(pytestconfig: pytest.Config) -> Any:
    """Runs scenarios (see :mod:`bpverify.submission`) against ``--bpverify-submission``."""
    if _settings(pytestconfig)[0] is None:
        pytest.skip("no --bpverify-submission given")
    return _loaded(pytestconfig)[0]


@pytest.fixture(scope="session")
def bpverify_submission(bpverify_executor: Any) -> Any:
    """The loaded submission: ``.names`` maps contract names to the student's objects."""
    return bpverify_executor.submission
