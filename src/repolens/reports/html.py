"""The HTML report: one self-contained page (inline CSS and a small inline
script that filters and sorts the findings; no external resources, no request
leaves the page), every value escaped."""

from __future__ import annotations

from repolens.reports import templating
from repolens.reports.model import Report


def render(report: Report) -> bytes:
    return templating.render("report.html.j2", report).encode("utf-8")
