"""The summary a scan prints when it is done."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from repolens.analyzers.base import Finding
from repolens.reports.model import Report

SHOWN = 5  # warnings of one analyzer, and findings that failed the gate, shown here
_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}


def show(console: Console, report: Report, written: list[Path]) -> None:
    target = report.target
    commit = f" @ {target.commit[:12]}" if target.commit else ""
    console.print(f"[bold]repolens[/] {target.label}{commit}", highlight=False)
    console.print(
        f"{report.inventory.files} files, {report.inventory.lines} lines, "
        f"{len(report.findings)} findings in {report.duration_seconds:.1f} s",
        highlight=False,
    )
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for severity in report.score.by_severity:
        table.add_column(severity, justify="right", style=_STYLE[severity])
    table.add_row(*(str(n) for n in report.score.by_severity.values()))
    console.print(table)
    console.print(f"health score [bold]{report.score.score}[/]/100 (grade {report.score.grade})")
    if report.plan is not None and report.plan.counts.total:
        plan = report.plan
        console.print(
            f"plan: {plan.counts.done}/{plan.counts.total} tasks done ({plan.percent}%), "
            f"health {plan.health}",
            highlight=False,
        )
    for step in report.steps:
        if step.status == "failed":
            console.print(f"[red]analyzer {step.analyzer} failed:[/] {step.error}", highlight=False)
        for said in step.warnings[:SHOWN]:
            console.print(Text.assemble((f"{step.analyzer}:", "yellow"), " ", said))
        if len(step.warnings) > SHOWN:
            console.print(f"{step.analyzer}: … and {len(step.warnings) - SHOWN} more warnings "
                          "in the report", highlight=False)  # fmt: skip
    for warning in report.warnings:
        if not warning.startswith("analyzer "):
            console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    for path in written:
        console.print(f"wrote {path}", highlight=False)


def gate(console: Console, failing: list[Finding], threshold: str) -> None:
    """Say which findings failed the gate, most severe first."""
    heading = f"{len(failing)} findings at {threshold} or above (--fail-on {threshold}):"
    console.print(f"[red]{heading}[/]", highlight=False)
    ordered = sorted(failing, key=lambda f: (-f.severity.rank, f.path, f.line or 0))
    shown = ordered if len(ordered) <= 4 * SHOWN else ordered[: 4 * SHOWN]
    for finding in shown:
        where = f"{finding.path}:{finding.line}" if finding.line else finding.path
        console.print(f"  {finding.severity.value:<8} {where}  {finding.analyzer}/{finding.rule_id}"
                      f"  {finding.title}", highlight=False, markup=False)  # fmt: skip
    if len(ordered) > len(shown):
        console.print(f"  … and {len(ordered) - len(shown)} more in the report", highlight=False)
