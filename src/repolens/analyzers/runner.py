"""Running the selected analyzers over a snapshot, in parallel.

Work is cut into jobs: a per-file analyzer's uncached files in batches, a
repository-wide analyzer as one job. Jobs run on a bounded thread pool (every
built-in does its heavy lifting in a subprocess, so threads keep all cores
busy). A job that raises fails its analyzer's step and nothing else."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import Any, Generic, Literal

from pydantic import BaseModel

from repolens.analyzers.base import (
    Analyzer,
    AnalyzerContext,
    Configures,
    Finding,
    OptionsT,
    Outcome,
    Snapshot,
    SourceFile,
    options_of,
)
from repolens.analyzers.cache import Key, NullResultCache, ResultCache, options_hash
from repolens.analyzers.services import NoServices, Services
from repolens.errors import ScanAborted

Progress = Callable[[int, int, str], None]


@dataclass
class Step:
    """The result of one analyzer in one scan."""

    analyzer: str
    version: str
    status: Literal["completed", "failed", "skipped"] = "completed"
    error: str | None = None
    findings: list[Finding] = field(default_factory=list)
    artifact: BaseModel | None = None
    warnings: list[str] = field(default_factory=list)
    files_analyzed: int = 0
    files_cached: int = 0
    seconds: float = 0.0


@dataclass
class _Job(Generic[OptionsT]):
    analyzer: Analyzer[OptionsT]
    options: OptionsT
    files: Sequence[SourceFile]
    units: int


@dataclass
class Runner:
    """Runs ANALYZERS, each with its options: its own `Options`, or their fields
    by name. Each analyzer's context carries its options as its `Options` type,
    and SERVICES: none unless given."""

    analyzers: Sequence[tuple[Analyzer[Any], BaseModel | Mapping[str, Any]]]
    cache: ResultCache = field(default_factory=NullResultCache)
    workers: int = 2
    timeout_seconds: float = 900.0
    environment: dict[str, str] | None = None
    services: Services = field(default_factory=NoServices)

    def run(
        self,
        snapshot: Snapshot,
        *,
        only_paths: set[str] | None = None,
        progress: Progress | None = None,
        should_abort: Callable[[], bool] = lambda: False,
        deadline: float | None = None,
    ) -> list[Step]:
        """Run every analyzer. At DEADLINE (a `time.monotonic()` value) the scan
        stops waiting: what finished is kept, unfinished analyzers fail their step."""
        steps = {a.name: Step(a.name, _version(a)) for a, _ in self.analyzers}
        pool = ThreadPoolExecutor(max_workers=max(1, self.workers))
        execution = _Execution(self, pool, snapshot, steps, progress, should_abort)
        try:
            # Each analyzer's jobs start as soon as its cache lookup is done, so the
            # lookups of the next analyzers overlap with the tools already running.
            for analyzer, options in self.analyzers:
                execution.submit(
                    self._plan(analyzer, options, snapshot, only_paths, steps[analyzer.name])
                )
            execution.finish(deadline)
        finally:
            # After a deadline the tools still running are left to their own time-outs.
            pool.shutdown(wait=not execution.running, cancel_futures=True)
        return list(steps.values())

    def _plan(
        self,
        analyzer: Analyzer[OptionsT],
        given: BaseModel | Mapping[str, Any],
        snapshot: Snapshot,
        only_paths: set[str] | None,
        step: Step,
    ) -> list[_Job[OptionsT]]:
        options = options_of(analyzer, given)
        if isinstance(analyzer, Configures):  # the project's own configuration of the engine
            configures: Configures[OptionsT] = analyzer
            options, said = configures.configure(snapshot, options)
            step.warnings += said
        if analyzer.scope == "repository":
            return [_Job(analyzer, options, snapshot.files, 1)]
        files = [f for f in snapshot.files if analyzer.applies_to(f)]
        if only_paths is not None:
            files = [f for f in files if f.path in only_paths]
        if not files:
            step.status = "skipped"
            return []
        todo = self._from_cache(analyzer, options, files, step)
        size = analyzer.batch_size or len(todo) or 1
        return [
            _Job(analyzer, options, todo[i : i + size], len(todo[i : i + size]))
            for i in range(0, len(todo), size)
        ]

    def _from_cache(
        self, analyzer: Analyzer[Any], options: BaseModel, files: list[SourceFile], step: Step
    ) -> list[SourceFile]:
        keys = cache_keys(analyzer, options, files)
        hits = self.cache.get_many(list(keys.values()))
        todo = []
        for f in files:
            cached = hits.get(keys[f.path])
            if cached is None:
                todo.append(f)
            else:
                step.findings += [finding.moved_to(f.path) for finding in cached]
                step.files_cached += 1
        return todo


def artifacts(steps: Sequence[Step]) -> dict[str, BaseModel]:
    """The artifacts the STEPS produced, by analyzer name: a consumer takes the one
    it knows by name ("plan", "skills") and validates it as its own type."""
    return {step.analyzer: step.artifact for step in steps if step.artifact is not None}


def cache_keys(
    analyzer: Analyzer[Any], options: BaseModel, files: Sequence[SourceFile]
) -> dict[str, Key]:
    """Each file's result-cache key, by path; version and options hashed once."""
    version, digest = _version(analyzer), options_hash(options)
    return {f.path: Key(analyzer.name, version, digest, f.sha256) for f in files}


def _version(analyzer: Analyzer[Any]) -> str:
    try:
        return analyzer.version
    except Exception as exc:  # a tool that is missing cannot say its version
        return f"unavailable ({exc})"


class _Execution:
    """One pass of jobs through the pool, with progress and cancellation."""

    def __init__(
        self,
        runner: Runner,
        pool: ThreadPoolExecutor,
        snapshot: Snapshot,
        steps: dict[str, Step],
        progress: Progress | None,
        should_abort: Callable[[], bool],
    ) -> None:
        self.runner = runner
        self.pool = pool
        self.snapshot = snapshot
        self.steps = steps
        self.progress = progress or (lambda done, total, message: None)
        self.should_abort = should_abort
        self.timing = threading.Lock()
        self.running: dict[Future[Outcome], _Job[Any]] = {}
        self.done = 0
        self.total = 0

    def submit(self, jobs: Sequence[_Job[Any]]) -> None:
        # Biggest first, so the pool does not end on one long straggler.
        for job in sorted(jobs, key=lambda job: -job.units):
            self.running[self.pool.submit(self._call, job)] = job
            self.total += job.units
        self._collect(timeout=0)

    def finish(self, deadline: float | None = None) -> None:
        while self.running:
            if deadline is None:
                self._collect(timeout=None)
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                self._stop_at_deadline()
                break
            self._collect(timeout=left)
        for step in self.steps.values():
            if step.status == "failed":
                step.findings = []

    def _stop_at_deadline(self) -> None:
        for future, job in self.running.items():
            future.cancel()
            step = self.steps[job.analyzer.name]
            step.status, step.error = "failed", "stopped at the time limit"

    def _collect(self, timeout: float | None) -> None:
        finished, _ = wait(self.running, timeout=timeout, return_when=FIRST_COMPLETED)
        for future in finished:
            job = self.running.pop(future)
            if isinstance(future.exception(), ScanAborted):
                for pending in self.running:
                    pending.cancel()
                raise ScanAborted()
            self._record(job, future)
            self.done += job.units
            self.progress(self.done, self.total, job.analyzer.name)

    def _call(self, job: _Job[OptionsT]) -> Outcome:
        name = job.analyzer.name
        context = AnalyzerContext(
            options=job.options,
            report_progress=lambda done, total, message: self.progress(
                self.done, self.total, f"{name}: {message} ({done}/{total})"
            ),
            should_abort=self.should_abort,
            timeout_seconds=self.runner.timeout_seconds,
            environment=self.runner.environment,
            services=self.runner.services,
        )
        if self.should_abort():
            raise ScanAborted()
        started = time.perf_counter()
        try:
            return job.analyzer.analyze(self.snapshot.with_files(job.files), context)
        finally:
            # Busy time: the sum over the analyzer's jobs, which may overlap.
            with self.timing:
                self.steps[job.analyzer.name].seconds += time.perf_counter() - started

    def _record(self, job: _Job[Any], future: Future[Outcome]) -> None:
        step = self.steps[job.analyzer.name]
        try:
            outcome = future.result()
        except Exception as exc:
            step.status = "failed"
            step.error = str(exc) or type(exc).__name__
            return
        version = step.version
        findings = [_stamped(f, version) for f in outcome.findings]
        step.findings += findings
        step.warnings += outcome.warnings
        step.artifact = outcome.artifact or step.artifact
        step.files_analyzed += len(job.files) if job.analyzer.scope == "file" else 0
        if job.analyzer.scope == "file" and step.status != "failed":
            self._store(job, findings)

    def _store(self, job: _Job[Any], findings: list[Finding]) -> None:
        by_path: dict[str, list[Finding]] = defaultdict(list)
        for finding in findings:
            by_path[finding.path].append(finding)
        keys = cache_keys(job.analyzer, job.options, job.files)
        self.runner.cache.put_many({key: by_path.get(path, []) for path, key in keys.items()})


def _stamped(finding: Finding, version: str) -> Finding:
    return finding if finding.analyzer_version else replace(finding, analyzer_version=version)
