"""The analyzer plugin contract and the one finding record every engine produces.

An analyzer gets a read-only `Snapshot` (the files of one commit) and an
`AnalyzerContext` typed by its own `Options`; it returns an `Outcome`. It touches
no database or queue, and the network only through the services its context
carries (none unless the scan gives them), so the same analyzer runs in the CLI,
a worker or a test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, Generic, Literal, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from repolens.analyzers.services import NoServices, Services
from repolens.errors import InputError

OptionsT = TypeVar("OptionsT", bound=BaseModel)


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is worse: info 0 … critical 4."""
        return _SEVERITY_ORDER.index(self)


_SEVERITY_ORDER = [Severity.INFO, Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]


class Category(StrEnum):
    SECURITY = "security"
    BUG = "bug"
    PERFORMANCE = "performance"
    MAINTAINABILITY = "maintainability"
    STYLE = "style"
    SECRETS = "secrets"
    COMPLEXITY = "complexity"
    DOCUMENTATION = "documentation"


class Confidence(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem found by one engine at one place."""

    analyzer: str
    rule_id: str
    title: str
    message: str
    category: Category
    severity: Severity
    path: str
    line: int | None = None
    column: int | None = None
    end_line: int | None = None
    end_column: int | None = None
    confidence: Confidence = Confidence.MEDIUM
    snippet: str = ""
    suggestion: str = ""
    fix: str = ""
    cwe: int | None = None
    links: tuple[str, ...] = ()
    analyzer_version: str = ""
    fingerprint: str = ""
    evidence: tuple[str, ...] = ()  # engine/rule ids that reported this one problem
    role: str = "source"  # of the file it is in (repolens.roles.Role)
    state: str = ""  # against a baseline: "new" or "existing"; "" when there is none

    def to_dict(self) -> dict[str, Any]:
        return {name: _plain(getattr(self, name)) for name in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(
            **{
                **data,
                "category": Category(data["category"]),
                "severity": Severity(data["severity"]),
                "confidence": Confidence(data["confidence"]),
                "links": tuple(data.get("links", ())),
                "evidence": tuple(data.get("evidence", ())),
            }
        )

    def moved_to(self, path: str) -> Finding:
        """This finding in a file with the same content at another path."""
        return self if path == self.path else replace(self, path=path)


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    return value


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file of the snapshot that analyzers may read."""

    path: str  # relative, POSIX separators
    language: str
    lines: int
    size: int
    sha256: str
    role: str = "source"  # repolens.roles.Role: where the file lives


@dataclass(frozen=True)
class Snapshot:
    """The files of one commit, checked out read-only under `root`."""

    root: Path
    files: tuple[SourceFile, ...]
    commit: str | None = None

    def absolute(self, file: SourceFile | str) -> Path:
        return self.root / (file.path if isinstance(file, SourceFile) else file)

    def read_text(self, file: SourceFile | str) -> str:
        return self.absolute(file).read_text(encoding="utf-8", errors="replace")

    def with_files(self, files: Iterable[SourceFile]) -> Snapshot:
        return replace(self, files=tuple(files))

    def relative(self, reported: str) -> str:
        """A tool's idea of a path (absolute, or relative with ./) as ours."""
        path = Path(reported)
        if path.is_absolute():
            path = path.relative_to(self.root)
        return path.as_posix().removeprefix("./")

    def arguments(self) -> list[str]:
        """The files as command-line arguments that no tool mistakes for options."""
        return ["./" + f.path for f in self.files]

    def line(self, path: str, number: int | None) -> str:
        if not number:
            return ""
        lines = self.read_text(path).splitlines()
        return lines[number - 1].strip()[:300] if 0 < number <= len(lines) else ""


def _never() -> bool:
    return False


def _ignore_progress(done: int, total: int, message: str) -> None:
    return None


@dataclass(frozen=True)
class AnalyzerContext(Generic[OptionsT]):
    """What an analyzer may ask of the scan that runs it; `options` are of the
    analyzer's own `Options` type."""

    options: OptionsT
    report_progress: Callable[[int, int, str], None] = _ignore_progress
    should_abort: Callable[[], bool] = _never
    timeout_seconds: float = 900.0
    environment: dict[str, str] | None = None
    services: Services = field(default_factory=NoServices)  # the outside world, if any


@dataclass(frozen=True)
class Outcome:
    """What one analyzer returns: findings, and optionally a typed artifact
    (the plan progress, the skills) that is not a finding."""

    findings: list[Finding] = field(default_factory=list)
    artifact: BaseModel | None = None
    warnings: list[str] = field(default_factory=list)


class NoOptions(BaseModel):
    """For analyzers that take no options."""


class Analyzer(Protocol[OptionsT]):
    """The plugin protocol. Register third-party analyzers under the
    `repolens.analyzers` entry-point group, pointing at a class with these
    attributes and a no-argument constructor."""

    name: ClassVar[str]
    scope: ClassVar[Literal["file", "repository"]]
    batch_size: ClassVar[int | None]

    @property
    def Options(self) -> type[OptionsT]: ...  # a class attribute: the options model

    @property
    def version(self) -> str: ...

    def applies_to(self, file: SourceFile) -> bool: ...

    def analyze(self, snapshot: Snapshot, context: AnalyzerContext[OptionsT]) -> Outcome: ...


@runtime_checkable
class Configures(Protocol[OptionsT]):
    """An analyzer that reads the project's own configuration of its engine from
    the snapshot, and says which options it will run with (and what it warns about)."""

    def configure(self, snapshot: Snapshot, options: OptionsT) -> tuple[OptionsT, list[str]]: ...


def options_of(
    analyzer: Analyzer[OptionsT], given: BaseModel | Mapping[str, Any] | None
) -> OptionsT:
    """ANALYZER's options from GIVEN (its own `Options`, or their fields by name),
    validated as its `Options` type; InputError saying what is wrong."""
    try:
        return analyzer.Options.model_validate(given if given is not None else {})
    except ValidationError as exc:
        problems = "; ".join(_problem(error) for error in exc.errors()[:5])
        raise InputError(f"bad options for analyzer {analyzer.name}: {problems}") from None


def _problem(error: ErrorDetails) -> str:
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}" if where else str(error["msg"])
