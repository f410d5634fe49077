"""The PDF report: the HTML report laid out for print by WeasyPrint."""

from __future__ import annotations

import logging

from repolens.reports import html
from repolens.reports.model import Report


def render(report: Report) -> bytes:
    from weasyprint import HTML

    # WeasyPrint logs every CSS property it does not support; a report is not the place.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    document: bytes = HTML(string=html.render(report).decode("utf-8")).write_pdf()
    return document
