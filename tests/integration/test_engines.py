"""The built-in analyzers against their real engines."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from repolens import inventory
from repolens.analyzers.base import AnalyzerContext, Outcome, Snapshot
from repolens.analyzers.builtin import secrets_engine
from repolens.analyzers.builtin.semgrep import SemgrepAnalyzer, SemgrepOptions
from repolens.analyzers.registry import Registry
from repolens.settings import child_environment

# Each line is something a detect-secrets plugin reports; the values are made up.
SECRET_FILES = {
    "settings.py": (
        'AWS_KEY = "AKIAZ7QW3RTY5UIO9PLK"\n'
        'GITHUB = "ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"\n'
        'password = "correct-horse-battery-staple-9"\n'
        'BLOB = "c2VjcmV0LWxvb2tpbmctYmFzZTY0LWJsb2ItZm9yLXRlc3Rz"\n'
        'HEXKEY = "8f14e45fceea167a5a36dedd4bea2543"\n'
        'URL = "https://admin:s3cr3tP4ss@db.internal.example/app"\n'
        'JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dBjftJeZ4CVPmB92K27uhbUJU1p1r"\n'
        'SLACK = "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"\n'
        "name = 'an ordinary string'\n"
    ),
    "config.yaml": "database:\n  password: hunter2-staging-pass\n  host: localhost\n",
    "deploy.ini": "[server]\nsecret_key = 9f86d081884c7d659a2feaa0c55ad015\n",
    "key.pem": "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\n",
    "clean.py": "def add(a, b):\n    return a + b\n" * 50,
}


def test_the_secrets_shortcut_finds_exactly_what_detect_secrets_finds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from detect_secrets.core.scan import scan_file
    from detect_secrets.settings import default_settings, get_plugins

    for name, text in SECRET_FILES.items():
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)

    with default_settings():
        patterns = secrets_engine.candidate_patterns(list(get_plugins()))
        assert patterns is not None
        expected = {(f, s.line_number, s.type) for f in SECRET_FILES for s in scan_file(f)}
        found = {(f, s.line_number, s.type) for f in SECRET_FILES
                 for s in secrets_engine.scan(f, patterns)}  # fmt: skip

    assert len(expected) >= 10
    assert found == expected


def test_candidate_lines_are_the_lines_a_pattern_touches() -> None:
    import re

    lines = ["nothing here\n", "token AKIA here\n", "multi\n", "line\n", "end"]
    patterns = [re.compile("AKIA"), re.compile(r"multi\nline")]
    assert secrets_engine.candidate_lines(lines, patterns) == {2, 3, 4}


def semgrep_on(root: Path, files: dict[str, str], **options: list[str]) -> Outcome:
    for name, text in files.items():
        (root / name).write_text(text)
    found = inventory.take(root, sorted(files), 1_000_000)
    context = AnalyzerContext(options=SemgrepOptions(**options), environment=child_environment())
    return SemgrepAnalyzer().analyze(Snapshot(root, tuple(found.files)), context)


def test_semgrep_runs_bundled_rules_per_language_and_honours_nosemgrep(tmp_path: Path) -> None:
    outcome = semgrep_on(tmp_path, {
        "app.py": "import yaml\nyaml.load(data)\neval(user_input)  # nosemgrep\n",
        "page.js": "el.innerHTML = userText;\n",
        "view.ts": "document.write(html);\n",
    })  # fmt: skip

    found = {(f.path, f.line, f.rule_id, f.cwe) for f in outcome.findings}
    assert found == {
        ("app.py", 2, "python-yaml-unsafe-load", 502),
        ("page.js", 1, "js-inner-html", 79),
        ("view.ts", 1, "js-document-write", 79),
    }


def test_semgrep_takes_extra_rule_files_of_the_repository(tmp_path: Path) -> None:
    rules = tmp_path / "house.yml"
    rules.write_text(
        "rules:\n  - id: no-print\n    languages: [python]\n    severity: INFO\n"
        "    message: use logging\n    pattern: print(...)\n"
    )
    outcome = semgrep_on(tmp_path, {"app.py": "print('hi')\n"}, rules=["house.yml"])
    assert [(f.rule_id, f.severity.value) for f in outcome.findings] == [("no-print", "low")]


def test_an_entry_point_plugin_is_discovered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "house_rules"
    package.mkdir()
    (package / "__init__.py").write_text(
        "from repolens.analyzers.builtin.skills import SkillsAnalyzer\n\n"
        "class HouseAnalyzer(SkillsAnalyzer):\n    name = 'house'\n"
    )
    info = tmp_path / "house_rules-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: house-rules\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[repolens.analyzers]\nhouse = house_rules:HouseAnalyzer\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "house_rules", raising=False)

    registry = Registry.discover()
    assert "house" in registry.names()
    assert registry.create("house").name == "house"
