"""The Markdown report: every finding of every severity, for people and PR comments."""

from __future__ import annotations

from repolens.reports import templating
from repolens.reports.model import Report


def render(report: Report) -> bytes:
    return templating.render("report.md.j2", report).encode("utf-8")
