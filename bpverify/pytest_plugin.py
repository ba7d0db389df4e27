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

from bpverify.options import DEFAULT_SEED, PROFILES, GradeOptions, OptionError, resolve_profile
from bpverify.submission.protocol import Executor
from bpverify.submission.replies import InventoryReply

OPTION_SUBMISSION = "bpverify_submission"
OPTION_SEED = "bpverify_seed"
OPTION_PROFILE = "bpverify_profile"
OPTION_EXAMPLES = "bpverify_examples"
OPTION_RUBRIC = "bpverify_rubric"

#: The user property a failed check carries: "to fix" (it failed) or "missing" (not defined).
_VERDICT = "bpverify"

_LOADED = pytest.StashKey[tuple["Executor", "InventoryReply"]]()
_RUBRIC = pytest.StashKey[Any]()
_OPTIONS = pytest.StashKey[GradeOptions]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("bpverify", "backpropagation checks (bpverify)")
    group.addoption("--bpverify-submission", dest=OPTION_SUBMISSION, metavar="PATH",
                    help="grade this submission (.py file or package folder): one test per "
                    "item check")
    group.addoption("--bpverify-seed", dest=OPTION_SEED, type=int, default=None,
                    help="Hypothesis seed (default 0)")
    group.addoption("--bpverify-profile", dest=OPTION_PROFILE, default=None,
                    choices=list(PROFILES),
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


#: The plugin's name for each :class:`~bpverify.options.GradeOptions` field it takes.
FLAGS = {"seed": "--bpverify-seed", "profile": "--bpverify-profile",
         "examples": "--bpverify-examples", "rubric": "--bpverify-rubric"}


def _opt(config: pytest.Config, name: str) -> Any:
    value = config.getoption(name)
    return value if value is not None else config.getini(name)


def _submission(config: pytest.Config) -> Path | None:
    sub = _opt(config, OPTION_SUBMISSION)
    return Path(sub) if sub else None


def _read_options(config: pytest.Config) -> GradeOptions:
    """The run's options from flags and ini keys; a bad value is a usage error, said once."""
    seed = _opt(config, OPTION_SEED)
    if isinstance(seed, str):  # an ini value
        seed = int(seed) if seed.strip().lstrip("-").isdigit() else (seed or None)
    try:
        options = GradeOptions(
            seed=DEFAULT_SEED if seed is None else seed,
            profile=_opt(config, OPTION_PROFILE) or None,
            examples=config.getoption(OPTION_EXAMPLES),
            rubric=_opt(config, OPTION_RUBRIC) or "default",
            in_process=True,  # the plugin runs the submission in the test process
        )
        resolve_profile(options.profile)  # $BPVERIFY_PROFILE too
    except OptionError as exc:
        raise pytest.UsageError(exc.spelled(FLAGS)) from None
    return options


def _options(config: pytest.Config) -> GradeOptions:
    return config.stash[_OPTIONS]


def pytest_configure(config: pytest.Config) -> None:
    sub = _submission(config)
    if sub is not None and not sub.exists():
        raise pytest.UsageError(
            f"--bpverify-submission {sub}: not found; expected a .py file or a package folder"
        )
    options = config.stash[_OPTIONS] = _read_options(config)
    if sub is not None:
        from bpverify.grading.rubric import RubricError, load_rubric

        try:
            config.stash[_RUBRIC] = load_rubric(options.rubric)
        except RubricError as exc:
            raise pytest.UsageError(str(exc)) from None


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    sub = _submission(config)
    if sub is None:
        return None
    options = _options(config)
    prof = resolve_profile(options.profile).name
    rubric = config.stash[_RUBRIC].name
    seed = options.seed
    return [
        f"bpverify: submission {sub} · rubric {rubric} · seed {seed} · profile {prof}",
        f"bpverify: reproduce with --bpverify-submission {sub} --bpverify-rubric {rubric} "
        f"--bpverify-seed {seed} --bpverify-profile {prof}",
    ]


def _loaded(config: pytest.Config) -> tuple[Executor, InventoryReply]:
    """The submission, loaded once per process (each xdist worker loads its own)."""
    if _LOADED not in config.stash:
        from bpverify.submission import InProcessExecutor, LoadSpec

        sub = _submission(config)
        assert sub is not None  # only called when a submission is given
        rubric = config.stash[_RUBRIC]
        spec = LoadSpec(layout=rubric.layout, options=dict(rubric.options), lookup=rubric.lookup)
        executor = InProcessExecutor(spec.load(sub))
        config.stash[_LOADED] = (executor, executor.call("inventory"))
    return config.stash[_LOADED]


def _reproduce(config: pytest.Config, item_name: str) -> str:
    """The CLI command that grades this item as this run did (rubric and profile included)."""
    options = _options(config)
    words = [f"bpverify grade {_submission(config)} --only '{item_name}' --seed {options.seed}"]
    if options.rubric != "default":
        words.append(f"--rubric {options.rubric}")
    words.append(f"--profile {resolve_profile(options.profile).name}")
    return " ".join(words)


class BpverifyFailure(Exception):
    """A failed check, already explained."""


class CheckItem(pytest.Item):
    """One check of one contract item."""

    def __init__(self, *, item_name: str, check_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.item_name, self.check_name = item_name, check_name

    def runtest(self) -> None:
        from bpverify.feedback.words import example_text
        from bpverify.grading.engine import not_implemented, run_named_check
        from bpverify.registry import item_named

        executor, inventory = _loaded(self.config)
        item = item_named(self.item_name)
        missing = not_implemented(item, inventory["names"], "; ".join(inventory["load_errors"]))
        if missing and not self.config.stash[_RUBRIC].rule(item.name).required:
            pytest.skip(f"{self.item_name}: optional, and the submission does not define it")
        if missing:
            self.user_properties.append((_VERDICT, "missing"))
            raise BpverifyFailure(f"{self.item_name} is missing: {missing}")
        options = _options(self.config)
        executor.begin_item(item.name)
        result = run_named_check(item, self.check_name, executor, seed=options.seed,
                                 max_examples=options.max_examples)
        if result.status == "failed":
            self.user_properties.append((_VERDICT, "to fix"))
            lines = [f"{self.item_name} · {self.check_name}: {result.message}"]
            if result.diagnosis is not None:
                lines.append(f"diagnosis: {result.diagnosis.text}")
            if result.example is not None:
                lines.append(f"minimal example: {example_text(result.example)}"[:2000])
            lines.append(f"reproduce: {_reproduce(self.config, self.item_name)}")
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
        from bpverify.grading.engine import check_names
        from bpverify.registry import item_named

        item = item_named(self.item_name)
        for check in check_names(item):
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
    sub = _submission(config)
    if sub is None:
        return
    root = SubmissionCollector.from_parent(session, name=sub.name, path=sub.resolve())
    for collector in root.collect():
        # Through the collection hooks, so the terminal counts and -k/-m select our items.
        session.ihook.pytest_collectstart(collector=collector)
        report = collector.ihook.pytest_make_collect_report(collector=collector)
        session.ihook.pytest_collectreport(report=report)
        items.extend(x for x in report.result if isinstance(x, pytest.Item))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line that counts items, not checks: "bpverify: 1 to fix · 2 missing"."""
    if _submission(terminalreporter.config) is None:
        return
    verdicts: dict[str, set[str]] = {"to fix": set(), "missing": set()}
    for report in terminalreporter.stats.get("failed", []):
        for key, value in getattr(report, "user_properties", ()):
            if key == _VERDICT and value in verdicts:
                verdicts[value].add(report.nodeid.rsplit("::", 1)[0])
    said = [f"{len(v)} {k}" for k, v in verdicts.items() if v]
    terminalreporter.write_line(f"bpverify: {' · '.join(said) or 'nothing to fix'} "
                                "(items; optional items the submission lacks are skipped)")


@pytest.fixture(scope="session")
def bpverify_seed(pytestconfig: pytest.Config) -> int:
    """The seed of this run (``--bpverify-seed``, default 0)."""
    return _options(pytestconfig).seed


@pytest.fixture(scope="session")
def bpverify_executor(pytestconfig: pytest.Config) -> Executor:
    """Runs scenarios (see :mod:`bpverify.submission`) against ``--bpverify-submission``."""
    if _submission(pytestconfig) is None:
        pytest.skip("no --bpverify-submission given")
    return _loaded(pytestconfig)[0]


@pytest.fixture(scope="session")
def bpverify_submission(bpverify_executor: Any) -> Any:
    """The loaded submission: ``.names`` maps contract names to the student's objects."""
    return bpverify_executor.submission
