"""The Jinja environment for the Markdown and HTML reports."""

from __future__ import annotations

import functools

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from repolens.analyzers.base import Severity
from repolens.reports.model import Report


@functools.cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("repolens.reports", "templates"),
        autoescape=select_autoescape(["html", "html.j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["cell"] = markdown_cell
    return env


def markdown_cell(value: object) -> str:
    """Text that is safe inside a Markdown table cell."""
    text = " ".join(str(value if value is not None else "").split())
    for char in "\\|*_`<>[]":
        text = text.replace(char, "\\" + char)
    return text


def render(template: str, report: Report) -> str:
    by_severity = {
        s.value: [f for f in report.findings if f.severity is s]
        for s in sorted(Severity, key=lambda s: -s.rank)
    }
    return environment().get_template(template).render(report=report, by_severity=by_severity)
