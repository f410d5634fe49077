"""Benchmark: the PDF report of a large scan, against the HTML report laid out
for print (what the PDF was before it became a summary), in one run.

    python bench/pdf.py [--findings 8000] [--runs 3]

The report is a real scan of a small generated project whose findings are
repeated over many files to the size asked for (8,000 is what a repository of
1,652 files gave). Prints the median seconds of each and the ratio; the target
is at most 2 s for the summary."""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from repolens import scan
from repolens.reports import html, pdf
from repolens.reports.model import Report
from repolens.settings import Settings

RISKY = (
    "import subprocess\nimport pickle\n\n\n"
    "def run(c, b):\n    subprocess.call(c, shell=True)\n    return pickle.loads(b)\n"
)


def large_report(findings: int, scratch: Path) -> Report:
    repo = scratch / "repo"
    repo.mkdir()
    (repo / "app.py").write_text(RISKY)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    settings = Settings(cache_dir=scratch / "cache", data_dir=scratch / "data")
    report = scan.run(scan.ScanRequest(str(repo), analyzers=["bandit", "semgrep"]), settings)
    each = max(1, findings // max(len(report.findings), 1))
    many = [replace(f, path=f"pkg/module_{n % 400}.py", line=(f.line or 1) + n)
            for f in report.findings for n in range(each)]  # fmt: skip
    return report.model_copy(update={"findings": many[:findings]})


def timed(render: object, report: Report, runs: int) -> float:
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        render(report)  # type: ignore[operator]
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def whole_html_as_pdf(report: Report) -> bytes:
    from weasyprint import HTML

    document: bytes = HTML(string=html.render(report).decode()).write_pdf()
    return document


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--findings", type=int, default=8000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        report = large_report(args.findings, Path(scratch))
        pdf.render(report)  # fonts and imports, once
        baseline = timed(whole_html_as_pdf, report, 1)
        summary = timed(pdf.render, report, args.runs)
    print(f"{len(report.findings)} findings; machine: {platform.machine()}, "
          f"Python {platform.python_version()}")  # fmt: skip
    print("| PDF | seconds | × baseline |\n| --- | ---: | ---: |")
    print(f"| baseline: the whole HTML report laid out for print | {baseline:.2f} | 1.000 |")
    print(f"| repolens summary | {summary:.2f} | {summary / baseline:.3f} |")


if __name__ == "__main__":
    main()
