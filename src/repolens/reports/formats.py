"""The report formats by name, and writing a set of them to a directory."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from repolens.errors import UnknownFormatError
from repolens.reports import html, json, markdown, pdf, sarif
from repolens.reports.model import Report

RENDERERS: dict[str, tuple[str, Callable[[Report], bytes]]] = {
    "json": ("report.json", json.render),
    "md": ("report.md", markdown.render),
    "sarif": ("report.sarif", sarif.render),
    "html": ("report.html", html.render),
    "pdf": ("report.pdf", pdf.render),
}


def parse(value: str) -> list[str]:
    names = [name.strip().lower() for name in value.split(",") if name.strip()]
    names = ["md" if name == "markdown" else name for name in names]
    unknown = [name for name in names if name not in RENDERERS]
    if unknown:
        raise UnknownFormatError(
            f"unknown report format {', '.join(unknown)} (known: {', '.join(RENDERERS)})"
        )
    return names


def write(report: Report, names: Iterable[str], directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names:
        filename, render = RENDERERS[name]
        path = directory / filename
        path.write_bytes(render(report))
        written.append(path)
    return written
