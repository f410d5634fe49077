"""`repolens` commands."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console

from repolens import __version__, baseline, scan
from repolens.analyzers.base import Severity
from repolens.analyzers.registry import Registry
from repolens.cli import database, people, progress, service, summary, watch
from repolens.errors import RepolensError
from repolens.git import arguments
from repolens.git.scratch import Scratch
from repolens.reports import formats
from repolens.settings import Settings

app = typer.Typer(
    name="repolens",
    help="Continuous repository analysis: security, quality, secrets, complexity, plan progress.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

app.add_typer(database.app, name="db")
app.add_typer(service.project_app, name="project")
app.add_typer(people.user_app, name="user")
app.add_typer(people.member_app, name="member")
app.add_typer(people.token_app, name="token")
app.command("serve")(service.serve)
app.command("runs")(service.runs_command)
app.command("refresh")(service.refresh)
app.command("worker")(service.worker)
app.command("beat")(service.beat)
app.command("flower")(service.flower)
app.command("watch")(watch.watch)

FAIL_ON = [s.value for s in Severity] + ["none"]


def _version(value: bool) -> None:
    if value:
        print(f"repolens {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """repolens analyses repositories."""


@app.command("scan")
def scan_command(
    target: Annotated[str, typer.Argument(help="A directory, a local repository or a git URL.")],
    ref: Annotated[str | None, typer.Option(help="Branch, tag or commit to scan.")] = None,
    format: Annotated[
        str, typer.Option("--format", "-f", help="Report formats: json,md,sarif,html,pdf.")
    ] = "json,md",
    out: Annotated[Path, typer.Option(help="Directory for the reports.")] = Path("repolens-report"),
    fail_on: Annotated[
        str, typer.Option(help=f"Exit 1 when a finding is this severe or worse: {FAIL_ON}.")
    ] = "none",
    analyzers: Annotated[
        str | None, typer.Option(help="Comma-separated analyzers to run (default: all).")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Analyse only files changed since this ref.")
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Ignore cached results.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the summary.")] = False,
) -> None:
    """Scan a repository and write reports; exit 0 clean, 1 at --fail-on, 2 bad input."""
    console = Console(soft_wrap=True)
    errors = Console(stderr=True, soft_wrap=True)
    try:
        names = formats.parse(format)
        threshold = _threshold(fail_on)
        settings = Settings()
        if no_cache:
            settings = settings.model_copy(update={"result_cache": False})
        request = scan.ScanRequest(
            location=target,
            ref=arguments.revision(ref) if ref is not None else None,
            analyzers=_names(analyzers),
            since=arguments.revision(since, "since") if since is not None else None,
            output=out,
        )
        Scratch(settings.checkouts_dir).sweep()  # what a killed scan left behind
        with progress.observer_for(errors, quiet) as observer:
            report = scan.run(request, settings, observer=observer)
        written = formats.write(report, names, out)
    except RepolensError as exc:
        errors.print(f"error: {exc}", highlight=False, markup=False)
        raise typer.Exit(2) from None
    summary.show(console, report, written)
    failing = report.gated(threshold) if threshold is not None else []
    if failing and threshold is not None:
        summary.gate(errors, failing, threshold.value)
        raise typer.Exit(1)


@app.command("baseline")
def baseline_command(
    target: Annotated[Path, typer.Argument(help="A local repository (default: here).")] = Path("."),
    analyzers: Annotated[
        str | None, typer.Option(help="Comma-separated analyzers to run (default: all).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress.")] = False,
) -> None:
    """Accept TARGET's findings as they are now: write .repolens-baseline.json at its top.
    Commit it: later scans mark its findings existing, and --fail-on judges new ones."""
    errors = Console(stderr=True, soft_wrap=True)
    if not target.is_dir():
        raise RepolensError(f"{target}: a baseline is written into a local directory")
    settings = Settings()
    request = scan.ScanRequest(location=str(target), analyzers=_names(analyzers),
                               baseline=False)  # fmt: skip
    with progress.observer_for(errors, quiet) as observer:
        report = scan.run(request, settings, observer=observer)
    accepted = baseline.of(report.findings, report.target.commit)
    path = baseline.write(accepted, target / baseline.NAME)
    print(f"wrote {path} with {len(accepted.findings)} findings")


@app.command("analyzers")
def analyzers_command() -> None:
    """List the analyzers that can run."""
    registry = Registry.discover()
    for analyzer in registry.select():
        print(f"{analyzer.name:<12} {analyzer.scope:<10} {analyzer.version}")


def _threshold(value: str) -> Severity | None:
    if value == "none":
        return None
    try:
        return Severity(value.lower())
    except ValueError:
        raise RepolensError(f"--fail-on must be one of {', '.join(FAIL_ON)}") from None


def _names(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [name.strip() for name in value.split(",") if name.strip()]


def _configuration_problems(exc: ValidationError) -> str:
    """Each problem named by the variable a user sets."""
    problems = []
    for error in exc.errors():
        name = "_".join(str(part) for part in error["loc"]).upper()
        message = error["msg"].removeprefix("Value error, ")
        problems.append(f"REPOLENS_{name}: {message}" if name else message)
    return "; ".join(problems)


def main() -> None:
    try:
        app()
    except RepolensError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except ValidationError as exc:
        if exc.title != Settings.__name__:
            raise
        print(f"error: bad configuration: {_configuration_problems(exc)}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
