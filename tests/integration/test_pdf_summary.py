"""The PDF is a summary a person reads, a few pages however large the repository."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pypdfium2

from repolens import scan
from repolens.reports import pdf
from repolens.settings import Settings
from tests.conftest import Repo

RISKY = "import subprocess\n\n\ndef run(c):\n    subprocess.call(c, shell=True)\n"


def test_two_thousand_findings_make_a_short_pdf_with_the_most_severe_first(
    make_repo: Callable[..., Repo], settings: Settings, tmp_path: Path
) -> None:
    repo = make_repo()
    repo.commit({"app/run.py": RISKY, "tests/test_run.py": RISKY})
    report = scan.run(scan.ScanRequest(str(repo.path), analyzers=["bandit"]), settings)
    many = [replace(f, line=(f.line or 1) + n, path=f"app/m{n % 50}.py")
            for f in report.findings for n in range(1000)]  # fmt: skip
    big = report.model_copy(update={"findings": many})

    (tmp_path / "summary.pdf").write_bytes(pdf.render(big))
    document = pypdfium2.PdfDocument(str(tmp_path / "summary.pdf"))
    assert len(document) <= 4
    text = "".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    assert "Top findings in production code" in text
    assert f"And {len(many) - pdf.TOP} more findings" in text
    assert "B602" in text and "B404" not in text  # the severe ones; the low ones stay in HTML
