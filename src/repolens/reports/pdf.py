"""The PDF report: a summary a person reads, laid out by WeasyPrint: the score
and how it is made, findings by severity and category, the most severe
findings in production code, the plan and the stack. The full list stays in
the HTML, JSON and SARIF reports, so the PDF stays a few pages however many
findings there are."""

from __future__ import annotations

import logging

from repolens.analyzers.base import Severity
from repolens.reports import templating
from repolens.reports.model import Report

TOP = 30  # findings the summary lists


def render(report: Report) -> bytes:
    from weasyprint import HTML

    # WeasyPrint logs every CSS property it does not support; a report is not the place.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    serious = sorted(
        (f for f in report.findings
         if f.role == "source" and f.severity.rank >= Severity.MEDIUM.rank),
        key=lambda f: (-f.severity.rank, f.path, f.line or 0),
    )  # fmt: skip
    page = (
        templating.environment()
        .get_template("report.pdf.j2")
        .render(report=report, top=serious[:TOP], more=len(report.findings) - len(serious[:TOP]))
    )
    document: bytes = HTML(string=page).write_pdf()
    return document
