from __future__ import annotations

import threading
from pathlib import Path
from typing import ClassVar, Literal

import pytest
from pydantic import BaseModel, Field

from repolens import inventory
from repolens.analyzers.base import (
    AnalyzerContext,
    Category,
    Finding,
    NoOptions,
    Outcome,
    Severity,
    Snapshot,
    SourceFile,
    options_of,
)
from repolens.analyzers.cache import MemoryResultCache, SqliteResultCache
from repolens.analyzers.registry import Registry
from repolens.analyzers.runner import Runner
from repolens.errors import InputError, ScanAborted, UnknownAnalyzerError


class CountingAnalyzer:
    """Flags every line containing TODO and remembers which files it read."""

    name: ClassVar[str] = "todo"
    scope: ClassVar[Literal["file", "repository"]] = "file"
    Options: ClassVar[type[NoOptions]] = NoOptions
    batch_size: ClassVar[int | None] = 2
    version = "1"

    def __init__(self) -> None:
        self.read: list[str] = []
        self.lock = threading.Lock()

    def applies_to(self, file: SourceFile) -> bool:
        return file.language == "python"

    def analyze(self, snapshot: Snapshot, context: AnalyzerContext[NoOptions]) -> Outcome:
        findings = []
        for file in snapshot.files:
            with self.lock:
                self.read.append(file.path)
            for number, line in enumerate(snapshot.read_text(file).splitlines(), 1):
                if "TODO" in line:
                    findings.append(Finding(self.name, "todo", "TODO left", "A TODO",
                                            Category.MAINTAINABILITY, Severity.INFO, file.path,
                                            line=number, snippet=line))  # fmt: skip
        return Outcome(findings)


class WholeRepository:
    """The plugin shape of an analyzer that looks at the repository as a whole;
    a test's analyzer names itself and says what it finds."""

    name: ClassVar[str] = "whole"
    scope: ClassVar[Literal["file", "repository"]] = "repository"
    Options: ClassVar[type[BaseModel]] = NoOptions
    batch_size: ClassVar[int | None] = None
    version = "1"

    def applies_to(self, file: SourceFile) -> bool:
        return True


class BrokenAnalyzer(CountingAnalyzer):
    name: ClassVar[str] = "broken"

    def analyze(self, snapshot: Snapshot, context: AnalyzerContext[NoOptions]) -> Outcome:
        raise RuntimeError("the tool crashed")


def snapshot_of(root: Path, files: dict[str, str]) -> Snapshot:
    for name, text in files.items():
        (root / name).write_text(text)
    found = inventory.take(root, sorted(files), 1_000_000)
    return Snapshot(root, tuple(found.files))


FILES = {f"m{i}.py": f"x = {i}\n" + ("# TODO\n" if i % 2 else "") for i in range(5)}


def test_findings_from_all_batches_are_merged(tmp_path: Path) -> None:
    analyzer = CountingAnalyzer()
    steps = Runner([(analyzer, NoOptions())], workers=2).run(snapshot_of(tmp_path, FILES))

    assert [(f.path, f.line) for f in sorted(steps[0].findings, key=lambda f: f.path)] == [
        ("m1.py", 2),
        ("m3.py", 2),
    ]
    assert sorted(analyzer.read) == sorted(FILES)


def test_a_failing_analyzer_fails_its_own_step_only(tmp_path: Path) -> None:
    runner = Runner([(BrokenAnalyzer(), NoOptions()), (CountingAnalyzer(), NoOptions())])
    broken, working = runner.run(snapshot_of(tmp_path, FILES))

    assert (broken.status, broken.error, broken.findings) == ("failed", "the tool crashed", [])
    assert (working.status, len(working.findings)) == ("completed", 2)


def test_a_rescan_after_a_one_file_change_reanalyses_that_file_only(tmp_path: Path) -> None:
    cache = MemoryResultCache()
    Runner([(CountingAnalyzer(), NoOptions())], cache).run(snapshot_of(tmp_path, FILES))

    again = CountingAnalyzer()
    changed = snapshot_of(tmp_path, {**FILES, "m0.py": "# TODO now\n"})
    step = Runner([(again, NoOptions())], cache).run(changed)[0]

    assert again.read == ["m0.py"]
    assert (step.files_analyzed, step.files_cached) == (1, 4)
    assert sorted(f.path for f in step.findings) == ["m0.py", "m1.py", "m3.py"]


def test_cached_results_survive_in_the_sqlite_cache(tmp_path: Path) -> None:
    cache_path = tmp_path / "cache" / "results.sqlite3"
    snapshot = snapshot_of(tmp_path, FILES)
    Runner([(CountingAnalyzer(), NoOptions())], SqliteResultCache(cache_path)).run(snapshot)

    again = CountingAnalyzer()
    step = Runner([(again, NoOptions())], SqliteResultCache(cache_path)).run(snapshot)[0]

    assert again.read == []
    assert len(step.findings) == 2 and step.files_cached == 5


def test_only_paths_limits_per_file_analyzers(tmp_path: Path) -> None:
    analyzer = CountingAnalyzer()
    Runner([(analyzer, NoOptions())]).run(snapshot_of(tmp_path, FILES), only_paths={"m3.py"})
    assert analyzer.read == ["m3.py"]


def test_an_aborted_scan_stops_between_jobs(tmp_path: Path) -> None:
    analyzer = CountingAnalyzer()
    with pytest.raises(ScanAborted):
        Runner([(analyzer, NoOptions())]).run(
            snapshot_of(tmp_path, FILES), should_abort=lambda: True
        )
    assert analyzer.read == []


def test_progress_reaches_the_total(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    Runner([(CountingAnalyzer(), NoOptions())]).run(
        snapshot_of(tmp_path, FILES), progress=lambda done, total, _: seen.append((done, total))
    )
    assert seen[-1] == (5, 5)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_the_registry_knows_the_builtins_and_refuses_unknown_names() -> None:
    registry = Registry.discover()
    assert {"ruff", "bandit", "secrets", "complexity", "semgrep", "plan", "skills"} <= set(
        registry.names()
    )
    with pytest.raises(UnknownAnalyzerError, match="unknown analyzer 'nope'"):
        registry.create("nope")


def test_a_plugin_class_registers_like_a_builtin() -> None:
    registry = Registry({"todo": CountingAnalyzer})
    assert [a.name for a in registry.select()] == ["todo"]


class StuckAnalyzer(CountingAnalyzer):
    name: ClassVar[str] = "stuck"
    batch_size: ClassVar[int | None] = None  # one job, holding one of the two threads
    release = threading.Event()

    def analyze(self, snapshot: Snapshot, context: AnalyzerContext[NoOptions]) -> Outcome:
        self.release.wait(30)
        return Outcome([])


def test_at_the_deadline_finished_work_is_kept_and_the_rest_fails_its_step(
    tmp_path: Path,
) -> None:
    import time

    runner = Runner([(StuckAnalyzer(), NoOptions()), (CountingAnalyzer(), NoOptions())])
    try:
        stuck, counted = runner.run(snapshot_of(tmp_path, FILES), deadline=time.monotonic() + 1)
    finally:
        StuckAnalyzer.release.set()

    assert (stuck.status, stuck.error, stuck.findings) == (
        "failed", "stopped at the time limit", [],
    )  # fmt: skip
    assert (counted.status, len(counted.findings)) == ("completed", 2)


class LimitOptions(BaseModel):
    limit: int = Field(3, ge=1)
    configured: bool = False


class LimitAnalyzer(WholeRepository):
    """Remembers the options it was configured with and run with."""

    name: ClassVar[str] = "limit"
    Options: ClassVar[type[BaseModel]] = LimitOptions

    def __init__(self) -> None:
        self.configured_with: list[BaseModel] = []
        self.run_with: list[BaseModel] = []

    def configure(
        self, snapshot: Snapshot, options: LimitOptions
    ) -> tuple[LimitOptions, list[str]]:
        self.configured_with.append(options)
        return options.model_copy(update={"configured": True}), [f"limit {options.limit}"]

    def analyze(self, snapshot: Snapshot, context: AnalyzerContext[LimitOptions]) -> Outcome:
        self.run_with.append(context.options)
        return Outcome()


def test_an_analyzer_is_configured_and_run_with_its_own_options_type(tmp_path: Path) -> None:
    analyzer = LimitAnalyzer()
    (step,) = Runner([(analyzer, {"limit": 5})]).run(snapshot_of(tmp_path, FILES))

    assert [type(o) for o in analyzer.configured_with + analyzer.run_with] == [LimitOptions] * 2
    assert analyzer.run_with == [LimitOptions(limit=5, configured=True)]
    assert (step.status, step.warnings) == ("completed", ["limit 5"])


def test_options_of_another_analyzer_are_refused_rather_than_passed_on(tmp_path: Path) -> None:
    analyzer = LimitAnalyzer()
    with pytest.raises(InputError, match="bad options for analyzer limit: Input should be"):
        Runner([(analyzer, NoOptions())]).run(snapshot_of(tmp_path, FILES))
    assert analyzer.run_with == []


def test_a_bad_option_is_refused_saying_which_and_why() -> None:
    with pytest.raises(InputError, match="analyzer limit: limit: Input should be greater"):
        options_of(LimitAnalyzer(), {"limit": 0})
