"""The Jinja environment for the Markdown and HTML reports."""

from __future__ import annotations

import functools
import re

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
    env.filters["code"] = markdown_code
    return env


def markdown_cell(value: object) -> str:
    """Text that is safe inside a Markdown table cell."""
    text = " ".join(str(value if value is not None else "").split())
    for char in "\\|*_`<>[]":
        text = text.replace(char, "\\" + char)
    return text


def markdown_code(value: object) -> str:
    """VALUE as a code span that is safe inside a Markdown table cell: shown as
    it is (no backslashes), fenced by more backticks than it holds."""
    text = " ".join(str(value if value is not None else "").split()).replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    padded = f" {text} " if text.startswith("`") or text.endswith("`") else text
    return f"{fence}{padded}{fence}"


def render(template: str, report: Report) -> str:
    by_severity = {
        s.value: [f for f in report.findings if f.severity is s]
        for s in sorted(Severity, key=lambda s: -s.rank)
    }
    return environment().get_template(template).render(report=report, by_severity=by_severity)
