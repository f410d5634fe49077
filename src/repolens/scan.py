"""One whole scan, in this process: fetch, inventory, analyzers, merge,
score, report. The CLI calls it directly; a background job will call the same."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pathspec
from pydantic import BaseModel, ValidationError

from repolens import (
    __version__,
    baseline,
    config,
    documents,
    fingerprints,
    inventory,
    merging,
    scoring,
    secrecy,
    suppressions,
)
from repolens.analyzers.base import (
    Analyzer,
    Category,
    Confidence,
    Finding,
    Snapshot,
    SourceFile,
    options_of,
)
from repolens.analyzers.cache import NullResultCache, ResultCache, SqliteResultCache
from repolens.analyzers.registry import Registry
from repolens.analyzers.runner import Runner, Step, artifacts
from repolens.analyzers.services import CountingBudget, GuardedHttp, Provided, Services
from repolens.git.checkout import Checkout, open_checkout
from repolens.git.credentials import Credentials
from repolens.plan.model import PlanProgress
from repolens.reports.model import (
    BaselineUse,
    Coverage,
    InventoryReport,
    Report,
    StepReport,
    Target,
)
from repolens.roles import Role, Roles
from repolens.security.outbound import OutboundPolicy
from repolens.settings import Settings, child_environment
from repolens.skills.model import SkillSet

ArtifactT = TypeVar("ArtifactT", bound=BaseModel)


class Observer(Protocol):
    """Who wants to know how the scan goes (a progress bar, a job's events)."""

    def stage(self, name: str) -> None: ...

    def progress(self, done: int, total: int, message: str) -> None: ...


class SilentObserver:
    def stage(self, name: str) -> None:
        return None

    def progress(self, done: int, total: int, message: str) -> None:
        return None


@dataclass(frozen=True)
class ScanRequest:
    location: str
    ref: str | None = None
    analyzers: list[str] | None = None
    since: str | None = None
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    credentials: Credentials | None = field(default=None, repr=False)
    resolve: str | None = None  # host:port:address a fetch must connect to (checked)
    output: Path | None = None  # where the reports go: never scanned, if it is inside
    baseline: bool = True  # judge findings against the repository's .repolens-baseline.json
    compare_to: str | None = None  # a commit: the report says which files were renamed since


def result_cache(settings: Settings) -> ResultCache:
    if not settings.result_cache:
        return NullResultCache()
    return SqliteResultCache(settings.result_cache_path)


def analyzer_services(settings: Settings) -> Provided:
    """What the analyzers of one scan may use outside: HTTP through the outbound
    guard, and the budget the settings allow them."""
    return Provided(
        http=GuardedHttp(OutboundPolicy.of(settings)),
        budget=CountingBudget(settings.analyzer_budget_units),
    )


def run(
    request: ScanRequest,
    settings: Settings,
    *,
    registry: Registry | None = None,
    cache: ResultCache | None = None,
    observer: Observer | None = None,
    should_abort: Callable[[], bool] = lambda: False,
    time_limit: float | None = None,
    services: Services | None = None,
) -> Report:
    """Scan; with TIME_LIMIT (seconds) the analyzers still running then are
    stopped and the report holds what finished, the rest as failed steps.
    SERVICES default to `analyzer_services(settings)`."""
    deadline = time.monotonic() + time_limit if time_limit else None
    observer = observer or SilentObserver()
    registry = registry or Registry.discover()
    analyzers = [
        (a, options_of(a, request.options.get(a.name))) for a in registry.select(request.analyzers)
    ]
    started = datetime.now(UTC)
    observer.stage("fetch")
    with open_checkout(request.location, request.ref, settings, request.credentials,
                       request.resolve) as co:  # fmt: skip
        only = co.changed_since(request.since) if request.since else None
        observer.stage("inventory")
        found, warnings = _inventory(co, request, settings)
        snapshot = Snapshot(co.root, tuple(found.files), co.commit)
        observer.stage("analyze")
        runner = _runner(analyzers, settings, cache, services)
        steps = runner.run(snapshot, only_paths=only, progress=observer.progress,
                           should_abort=should_abort, deadline=deadline)  # fmt: skip
        observer.stage("report")
        secrets = secrecy.secret_values([f for s in steps for f in s.findings], snapshot)
        for step in steps:
            step.findings = secrecy.redact(step.findings, secrets)
        analysed = [f for f in found.files if only is None or f.path in only]
        coverage = _coverage(request, [f for f in analysed if f.role == Role.SOURCE], steps)
        accepted, said = baseline.read(co.root) if request.baseline else (None, [])
        report = _report(request, co.label, co.commit, co.warnings + warnings + said, found,
                         steps, started, coverage,
                         lambda merged: suppressions.honoured(snapshot, merged))  # fmt: skip
        report.suppressed = suppressions.count(snapshot, analysed)
        report.target.ref = request.ref or co.branch  # which branch HEAD meant
        if request.compare_to:
            report.renamed = co.renamed_since(request.compare_to)
        return _judged(report, accepted, co)


def _runner(
    analyzers: list[tuple[Analyzer[Any], BaseModel]],
    settings: Settings,
    cache: ResultCache | None,
    services: Services | None,
) -> Runner:
    """The runner of one scan's ANALYZERS; the cache and the services default to
    those the settings say."""
    return Runner(
        analyzers,
        cache if cache is not None else result_cache(settings),
        workers=settings.workers,
        timeout_seconds=settings.analyzer_timeout_seconds,
        environment=child_environment(),
        services=services if services is not None else analyzer_services(settings),
    )


def _inventory(
    co: Checkout, request: ScanRequest, settings: Settings
) -> tuple[inventory.Inventory, list[str]]:
    """The checkout's files with their roles, less what is not to be analysed
    (the repository's exclusions, repolens's own output); warnings about the
    repository's configuration."""
    own, warnings = _own_configuration(co.root)
    roles = Roles.of(own.roles, documents.repository_text(co.root, ".gitattributes") or "")
    skipped = {**co.skipped, **_ours(co.root, co.paths, request.output),
               **_excluded(co.paths, own.exclude)}  # fmt: skip
    found = inventory.take(co.root, co.paths, settings.max_file_bytes, skipped)
    return _placed(found, roles), warnings


def _judged(report: Report, accepted: baseline.Baseline | None, co: Checkout) -> Report:
    """REPORT with its findings new or existing against the baseline, if any;
    files renamed since the baseline keep their findings' identities."""
    if accepted is None:
        return report
    known = accepted.fingerprints(co.renamed_since(accepted.commit) if accepted.commit else {})
    judged = baseline.judged(report.findings, known)
    new = sum(f.state == "new" for f in judged)
    use = BaselineUse(commit=accepted.commit, new=new, existing=len(judged) - new)
    return report.model_copy(update={"findings": judged, "baseline": use})


OUTPUT = "repolens-report"  # the command line's default output folder


def _own_configuration(root: Path) -> tuple[config.RepositoryConfig, list[str]]:
    """The repository's `.repolens.yml`, read within bounds; warnings for what is wrong."""
    for name in config.NAMES:
        text = documents.repository_text(root, name, config.MAX_BYTES)
        if text:
            return config.read(text, name)
    return config.RepositoryConfig(), []


def _excluded(paths: list[str], patterns: list[str]) -> dict[str, str]:
    if not patterns:
        return {}
    spec = pathspec.GitIgnoreSpec.from_lines(patterns)
    return {path: "excluded by .repolens.yml" for path in paths if spec.match_file(path)}


def _placed(found: inventory.Inventory, roles: Roles) -> inventory.Inventory:
    """FOUND with each file's role; generated and vendored files are left out."""
    placed = inventory.Inventory(skipped=list(found.skipped))
    for file in found.files:
        role = roles.of_path(file.path)
        if role in (Role.GENERATED, Role.VENDORED):
            placed.skipped.append(inventory.Skipped(file.path, role.value))
        else:
            placed.files.append(replace(file, role=role.value))
    return placed


def _roled(findings: list[Finding], role_of: dict[str, str]) -> list[Finding]:
    """FINDINGS marked with their file's role. A secret outside production code
    is less certain: test data is mostly made up."""
    marked = []
    for finding in findings:
        role = role_of.get(finding.path, Role.SOURCE.value)
        doubtful = finding.category is Category.SECRETS and role != Role.SOURCE
        marked.append(
            replace(
                finding, role=role, confidence=Confidence.LOW if doubtful else finding.confidence
            )
        )
    return marked


def _ours(root: Path, paths: list[str], output: Path | None) -> dict[str, str]:
    """The paths that are repolens's own reports: the default output folder at
    the top, and OUTPUT when it lies inside ROOT. A scan never reads its own
    earlier reports as the project's files."""
    prefixes, names = [OUTPUT + "/"], {baseline.NAME}
    if output is not None and output.resolve().is_relative_to(root.resolve()):
        inside = output.resolve().relative_to(root.resolve()).as_posix()
        if inside == ".":
            names = {f"report.{name}" for name in ("json", "md", "sarif", "html", "pdf")}
        else:
            prefixes.append(inside + "/")
    return {path: "repolens output" for path in paths
            if path.startswith(tuple(prefixes)) or path in names}  # fmt: skip


def _coverage(request: ScanRequest, files: list[SourceFile], steps: list[Step]) -> Coverage:
    reasons = [f"only files changed since {request.since}"] if request.since else []
    reasons += [f"analyzer {s.analyzer} failed" for s in steps if s.status == "failed"]
    return Coverage(partial=bool(reasons), reasons=reasons, files=len(files),
                    lines=sum(f.lines for f in files))  # fmt: skip


def _report(
    request: ScanRequest,
    label: str,
    commit: str | None,
    warnings: list[str],
    found: inventory.Inventory,
    steps: list[Step],
    started: datetime,
    coverage: Coverage,
    honour: Callable[[list[Finding]], list[Finding]],
) -> Report:
    """The report; HONOUR drops the merged findings the project suppressed."""
    merged, merged_away = merging.merge([f for step in steps for f in step.findings])
    placed = _roled(honour(merged), {f.path: f.role for f in found.files})
    findings = fingerprints.assign(placed)
    production = [f for f in findings if f.role == Role.SOURCE]
    finished = datetime.now(UTC)
    failed = [f"analyzer {s.analyzer} failed: {s.error}" for s in steps if s.status == "failed"]
    produced = artifacts(steps)
    refused: list[str] = []  # artifacts that are not what the report keeps under their name
    plan = _artifact(produced, "plan", PlanProgress, refused)
    skills = _artifact(produced, "skills", SkillSet, refused)
    return Report(
        tool_version=__version__,
        target=Target(label=label, ref=request.ref, commit=commit, since=request.since),
        started_at=started,
        finished_at=finished,
        duration_seconds=round((finished - started).total_seconds(), 3),
        inventory=InventoryReport(
            files=len(found.files),
            lines=found.total_lines,
            languages=found.languages(),
            skipped=found.skipped_by_reason(),
        ),
        steps=[_step_report(step) for step in steps],
        findings=findings,
        score=scoring.score(production, coverage.lines),
        by_role=dict(Counter(f.role for f in findings).most_common()),
        coverage=coverage,
        merged=merged_away,
        plan=plan,
        skills=skills,
        warnings=capped(warnings + failed + refused),
    )


def _step_report(step: Step) -> StepReport:
    return StepReport(
        analyzer=step.analyzer,
        version=step.version,
        status=step.status,
        error=step.error[:MAX_WARNING_CHARACTERS] if step.error else step.error,
        findings=len(step.findings),
        files_analyzed=step.files_analyzed,
        files_cached=step.files_cached,
        seconds=round(step.seconds, 3),
        warnings=capped(step.warnings),
    )


# A repository decides what its analyzers warn about: the report keeps a bounded part.
MAX_WARNINGS, MAX_WARNING_CHARACTERS = 50, 1000


def capped(warnings: list[str]) -> list[str]:
    """WARNINGS cut to MAX_WARNINGS of at most MAX_WARNING_CHARACTERS, saying how many more."""
    kept = [w if len(w) <= MAX_WARNING_CHARACTERS else w[: MAX_WARNING_CHARACTERS - 1] + "…"
            for w in warnings[:MAX_WARNINGS]]  # fmt: skip
    if len(warnings) > MAX_WARNINGS:
        kept.append(f"… and {len(warnings) - MAX_WARNINGS} more warnings")
    return kept


def _artifact(
    produced: dict[str, BaseModel], name: str, kind: type[ArtifactT], refused: list[str]
) -> ArtifactT | None:
    """The artifact of the analyzer called NAME, validated as the report's KIND;
    one that is not a KIND is left out, saying so in REFUSED."""
    found = produced.get(name)
    if found is None:
        return None
    try:
        return kind.model_validate(found, from_attributes=True)
    except ValidationError as exc:
        refused.append(
            f"analyzer {name}'s artifact is not a {kind.__name__} "
            f"({exc.error_count()} problems); the report leaves it out"
        )
        return None
