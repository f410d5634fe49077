"""The summary a scan prints when it is done."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from repolens.reports.model import Report

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
    for warning in report.warnings:
        if not warning.startswith("analyzer "):
            console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    for path in written:
        console.print(f"wrote {path}", highlight=False)
