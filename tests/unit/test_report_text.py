"""What a person reads in reports and errors says exactly what it should."""

from __future__ import annotations

from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from repolens.analyzers.base import Snapshot
from repolens.analyzers.builtin.secrets import SecretsAnalyzer
from repolens.errors import FetchError
from repolens.git.mirror import Mirror
from repolens.reports.templating import markdown_code


@pytest.mark.parametrize("text", ["tests/test_basic.py:3", "a|b.py", "we`ird``name.py", "`x`"])
def test_a_path_in_a_markdown_table_reads_exactly_as_it_is(text: str) -> None:
    table = f"| where |\n| --- |\n| {markdown_code(text)} |\n"
    tokens = MarkdownIt("commonmark").enable("table").parse(table)
    spans = [child.content for token in tokens for child in token.children or []
             if child.type == "code_inline"]  # fmt: skip
    assert spans == [text]


def test_a_failed_fetch_says_what_git_said_went_wrong(tmp_path: Path) -> None:
    with pytest.raises(FetchError) as raised:
        Mirror(tmp_path / "mirrors").sync((tmp_path / "missing.git").as_uri())
    message = str(raised.value)
    assert "fatal:" in message and not message.endswith("and the repository exists.")


def test_secret_messages_use_the_right_article(tmp_path: Path) -> None:
    snapshot = Snapshot(tmp_path, ())
    item = {"type": "AWS Access Key", "path": "a.py", "line": 1, "column": 1, "end_column": 2,
            "snippet": ""}  # fmt: skip
    assert "like an aws access key" in SecretsAnalyzer()._finding(snapshot, item).message
    item["type"] = "GitHub Token"
    assert "like a github token" in SecretsAnalyzer()._finding(snapshot, item).message
