"""`repolens scan` end to end: the real command, real tools, real git."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest

from tests.conftest import Repo
from tests.integration.conftest import Result

SECRET = "AKIAZ7QW3RTY5UIO9PLK"
PASSWORD = "hunter2-correct-horse-battery"
GITHUB_TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"

VULNERABLE = f'''import os, subprocess
import yaml

AWS_ACCESS_KEY_ID = "{SECRET}"
password = "{PASSWORD}"
HEADERS = {{"Authorization": "token {GITHUB_TOKEN}"}}


def run(command):
    subprocess.call(command, shell=True)
    return yaml.load(open(command))


def tangled(a, b, c, d, e, f, g, h, i):
{"".join(f"    if a == {n}:{chr(10)}        b += {n}{chr(10)}" for n in range(20))}    return b
'''

PROJECT: dict[str, str | bytes] = {
    "app/vulnerable.py": VULNERABLE,
    "app/clean.py": "def add(a: int, b: int) -> int:\n    return a + b\n",
    "requirements.txt": "fastapi\nsqlalchemy\npytest\n",
    "docs/plan.md": "# Plan\n\n## Phase 1\n- [x] Set-up CI\n- [x] Parse <script>alert(1)</script>"
    " plans\n\n## Phase 2\n- [~] Real-time progress\n- [ ] Reports\n",
}


@pytest.fixture
def project(make_repo: Callable[..., Repo]) -> Repo:
    repo = make_repo("project")
    repo.commit(PROJECT, "first")
    return repo


def scan(repolens: Callable[..., Result], target: Path | str, out: Path, *args: str) -> Result:
    return repolens("scan", str(target), "--out", str(out), *args)


def test_a_full_scan_finds_what_each_engine_finds_and_gates_on_severity(
    repolens: Callable[..., Result], project: Repo, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = scan(repolens, project.path, out, "--format", "json,md,sarif,html,pdf",
                  "--fail-on", "high")  # fmt: skip

    assert result.code == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "findings at high or above (--fail-on high):" in result.stderr
    assert "app/vulnerable.py:" in result.stderr and "bandit/B602" in result.stderr
    report = result.report(out)
    statuses = {s["analyzer"]: s["status"] for s in report["steps"]}
    # The project has no JavaScript, shell, Dockerfile or workflow: those engines skip.
    assert set(statuses.values()) == {"completed", "skipped"}, statuses
    assert [name for name, status in statuses.items() if status == "completed"] == [
        "ruff", "bandit", "secrets", "complexity", "semgrep", "plan", "skills"]  # fmt: skip
    rules = {(f["analyzer"], f["rule_id"]) for f in report["findings"]}
    # A problem two engines found is one finding, the other engine's rule its evidence.
    rules |= {tuple(e.split("/", 1)) for f in report["findings"] for e in f["evidence"]}
    assert {("bandit", "B602"), ("ruff", "F401"),
            ("semgrep", "python-subprocess-shell-true"), ("semgrep", "python-yaml-unsafe-load"),
            ("complexity", "cyclomatic-complexity"), ("complexity", "too-many-parameters"),
            ("secrets", "aws-access-key")} <= rules  # fmt: skip
    bandit = next(f for f in report["findings"] if f["rule_id"] == "B602")
    assert (bandit["cwe"], bandit["path"], bandit["line"]) == (78, "app/vulnerable.py", 10)
    assert report["target"]["commit"] == project.git("rev-parse", "HEAD")
    assert report["plan"]["counts"] == {"total": 4, "todo": 1, "in_progress": 1, "done": 2,
                                        "blocked": 0}  # fmt: skip
    assert {"FastAPI", "SQLAlchemy", "pytest", "Python"} <= {
        s["name"] for s in report["skills"]["skills"]
    }
    assert "health score" in result.stdout


def test_ruff_fixes_are_unified_diffs_that_apply(
    repolens: Callable[..., Result], project: Repo, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    scan(repolens, project.path, out, "--analyzers", "ruff")
    unused = next(f for f in Result(0, "", "").report(out)["findings"] if f["rule_id"] == "F401")

    assert unused["fix"].startswith("--- a/app/vulnerable.py\n+++ b/app/vulnerable.py\n")
    (tmp_path / "fix.diff").write_text(unused["fix"])
    project.git("apply", "--check", str(tmp_path / "fix.diff"))


def test_secrets_are_masked_in_every_report(
    repolens: Callable[..., Result], project: Repo, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    scan(repolens, project.path, out, "--format", "json,md,sarif,html",
         "--analyzers", "secrets,bandit,ruff")  # fmt: skip

    for report in out.iterdir():
        text = report.read_text()
        assert SECRET not in text, report.name
        assert PASSWORD not in text, report.name
        assert GITHUB_TOKEN[4:] not in text, report.name
    assert "********" in (out / "report.json").read_text()
    assert GITHUB_TOKEN[4:] not in (out / "report.json").read_text()


def test_the_sarif_report_is_valid_sarif_2_1_0(
    repolens: Callable[..., Result], project: Repo, tmp_path: Path
) -> None:
    schema_path = os.environ.get("REPOLENS_TEST_SARIF_SCHEMA")
    assert schema_path, "run the tests with scripts/test, which fetches the SARIF schema"
    out = tmp_path / "out"
    scan(repolens, project.path, out, "--format", "sarif", "--analyzers", "bandit,ruff,secrets")

    sarif = json.loads((out / "report.sarif").read_text())
    jsonschema.validate(sarif, json.loads(Path(schema_path).read_text()))
    run = sarif["runs"][0]
    assert run["results"] and all(r["partialFingerprints"]["repolens/v1"] for r in run["results"])
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert rules["bandit/B602"]["properties"]["security-severity"] == "8.0"
    assert "external/cwe/cwe-78" in rules["bandit/B602"]["properties"]["tags"]


def test_the_html_report_escapes_what_it_shows_and_stands_alone(
    repolens: Callable[..., Result], project: Repo, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    scan(repolens, project.path, out, "--format", "html,md", "--analyzers", "plan,ruff")

    html = (out / "report.html").read_text()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<link" not in html and "src=" not in html
    assert "\\<script\\>" in (out / "report.md").read_text()


def test_the_pdf_report_renders_to_a_page_with_the_score(
    repolens: Callable[..., Result], project: Repo, tmp_path: Path
) -> None:
    import pypdfium2

    out = tmp_path / "out"
    scan(repolens, project.path, out, "--format", "pdf,json", "--analyzers", "plan,ruff")

    pdf = pypdfium2.PdfDocument(str(out / "report.pdf"))
    page = pdf[0]
    assert "Health" in page.get_textpage().get_text_range()
    image = page.render(scale=1).to_pil()
    image.save(tmp_path / "page.png")
    assert image.size[0] > 500
    assert image.convert("L").getextrema()[0] < 100  # there is dark ink on the page


def test_a_clean_repository_passes_the_gate(
    repolens: Callable[..., Result], make_repo: Callable[..., Repo], tmp_path: Path
) -> None:
    repo = make_repo("clean")
    repo.commit({"ok.py": "def one() -> int:\n    return 1\n"})
    result = scan(repolens, repo.path, tmp_path / "out", "--fail-on", "low")
    assert result.code == 0, result.stdout + result.stderr
    assert result.report(tmp_path / "out")["findings"] == []


def test_a_git_url_is_mirrored_and_the_exact_ref_is_scanned_without_touching_the_mirror(
    repolens: Callable[..., Result], make_repo: Callable[..., Repo], tmp_path: Path
) -> None:
    origin = make_repo("origin")
    first = origin.commit({"a.py": "import os\n"}, "first")
    origin.commit({"b.py": "import sys\n"}, "second")
    url = (origin.path / ".git").as_uri()
    out = tmp_path / "out"

    result = scan(repolens, url, out, "--ref", first, "--analyzers", "ruff")

    assert result.code == 0, result.stderr
    report = result.report(out)
    assert report["target"]["commit"] == first
    assert [f["path"] for f in report["findings"]] == ["a.py"]
    (mirror,) = (tmp_path / "cache" / "mirrors").glob("*.git")
    before = sorted(p.relative_to(mirror) for p in mirror.rglob("*"))
    assert not (mirror / "worktrees").exists() and not (mirror / "index").exists()

    third = origin.commit({"c.py": "import json\n"}, "third")
    result = scan(repolens, url, out, "--ref", "main", "--analyzers", "ruff")
    assert result.report(out)["target"]["commit"] == third  # the mirror was fetched
    after = {p.relative_to(mirror) for p in mirror.rglob("*")}
    assert not (mirror / "worktrees").exists() and not (mirror / "index").exists()
    assert {p for p in before if "objects" not in str(p) and "FETCH" not in str(p)} <= after


@pytest.mark.parametrize(
    ("target", "args", "message"),
    [
        ("missing-dir", [], "no such directory, and not a repository URL"),
        ("file:///nonexistent/repo.git", [], "could not fetch file:///nonexistent/repo.git"),
        ("http://127.0.0.1:9/repo.git", [], "could not fetch http://127.0.0.1:9/repo.git"),
        ("{project}", ["--ref", "no-such-branch"], "ref 'no-such-branch' not found"),
        ("{project}", ["--since", "no-such-ref"], "ref 'no-such-ref' not found"),
        ("{project}", ["--format", "docx"], "unknown report format docx"),
        ("{project}", ["--fail-on", "severe"], "--fail-on must be one of"),
        ("{project}", ["--analyzers", "ruff,pylint"], "unknown analyzer 'pylint'"),
        ("{project}/requirements.txt", [], "not a directory"),
        ("{plain}", ["--ref", "main"], "is not a git repository, so --ref cannot be used"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(
    repolens: Callable[..., Result], project: Repo, tmp_path: Path,
    target: str, args: list[str], message: str,
) -> None:  # fmt: skip
    (tmp_path / "plain").mkdir()
    target = target.format(project=project.path, plain=tmp_path / "plain")
    result = scan(repolens, target, tmp_path / "out", *args)

    assert result.code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [
        next(line for line in result.stderr.splitlines() if message in line)
    ]


def test_awkward_repositories_complete_with_what_was_skipped(
    repolens: Callable[..., Result], make_repo: Callable[..., Repo], tmp_path: Path
) -> None:
    repo = make_repo("awkward")
    repo.write({
        "blob.bin": bytes(range(256)) * 64,
        "huge.py": "x = 1\n" * 400_000,
        "latin1.py": b"s = '\xe9t\xe9'\nimport os\n",
        "plan.md": "## [unclosed\n- [x] done *half\n```\n- [ ] fenced forever\n",
        "ok.py": "import sys\n",
    })  # fmt: skip
    (repo.path / os.fsdecode(b"caf\xe9.py")).write_text("import json\n")
    (repo.path / "loop").symlink_to(repo.path)
    repo.commit({}, "awkward")

    out = tmp_path / "out"
    result = scan(repolens, repo.path, out, "--analyzers", "ruff,secrets,plan")

    assert result.code == 0, result.stderr
    report = result.report(out)
    assert report["inventory"]["skipped"] == {
        "binary": 1, "too large": 1, "non-UTF-8 file name": 1, "symbolic link": 1,
    }  # fmt: skip
    assert {f["path"] for f in report["findings"]} == {"latin1.py", "ok.py"}
    assert report["plan"]["counts"]["done"] == 1


def test_an_empty_repository_is_a_completed_scan_with_a_warning(
    repolens: Callable[..., Result], make_repo: Callable[..., Repo], tmp_path: Path
) -> None:
    empty = make_repo("empty")
    local = scan(repolens, empty.path, tmp_path / "a", "--analyzers", "ruff,plan")
    remote = scan(repolens, (empty.path / ".git").as_uri(), tmp_path / "b", "--analyzers", "ruff")

    assert (local.code, remote.code) == (0, 0), local.stderr + remote.stderr
    assert "the repository has no commits yet" in local.report(tmp_path / "a")["warnings"]
    assert "the repository is empty" in remote.report(tmp_path / "b")["warnings"]


def test_a_failing_analyzer_fails_its_step_and_the_scan_completes(
    repolens: Callable[..., Result], project: Repo, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = repolens("scan", str(project.path), "--out", str(out), "--analyzers",
                      "bandit,plan", REPOLENS_ANALYZER_TIMEOUT_SECONDS="0.001")  # fmt: skip

    assert result.code == 0
    steps = {s["analyzer"]: s for s in result.report(out)["steps"]}
    assert steps["bandit"]["status"] == "failed" and "timed out" in steps["bandit"]["error"]
    assert steps["plan"]["status"] == "completed"
    assert "analyzer bandit failed" in result.stdout


def test_a_rescan_after_one_change_reanalyses_one_file_and_since_limits_the_scan(
    repolens: Callable[..., Result], make_repo: Callable[..., Repo], tmp_path: Path
) -> None:
    repo = make_repo("incremental")
    base = repo.commit({f"m{i}.py": f"import os\nX = {i}\n" for i in range(6)})
    out = tmp_path / "out"
    scan(repolens, repo.path, out, "--analyzers", "ruff,bandit")
    repo.commit({"m3.py": "import sys\nX = 3\n"})

    warm = scan(repolens, repo.path, out, "--analyzers", "ruff,bandit").report(out)
    steps = {s["analyzer"]: s for s in warm["steps"]}
    assert (steps["ruff"]["files_analyzed"], steps["ruff"]["files_cached"]) == (1, 5)
    assert (steps["bandit"]["files_analyzed"], steps["bandit"]["files_cached"]) == (1, 5)
    assert len([f for f in warm["findings"] if f["rule_id"] == "F401"]) == 6

    since = scan(repolens, repo.path, out, "--analyzers", "ruff", "--since", base).report(out)
    assert [f["path"] for f in since["findings"]] == ["m3.py"]
    assert since["target"]["since"] == base
    # Scored over the one file it looked at, not the six it did not, and said so.
    assert since["coverage"] == {"partial": True, "reasons": [f"only files changed since {base}"],
                                 "files": 1, "lines": 2}  # fmt: skip
    assert (since["score"]["kloc"], warm["score"]["kloc"]) == (0.002, 0.012)
    assert "Partial scan" in (out / "report.md").read_text()
    assert warm["coverage"]["partial"] is False


def test_progress_is_printed_as_plain_lines_when_not_on_a_terminal(
    repolens: Callable[..., Result], project: Repo, tmp_path: Path
) -> None:
    result = scan(repolens, project.path, tmp_path / "out", "--analyzers", "ruff,plan")
    lines = result.stderr.splitlines()
    assert lines[:3] == ["stage: fetch", "stage: inventory", "stage: analyze"]
    assert "progress: 3/3 (100%) plan" in lines or "progress: 3/3 (100%) ruff" in lines


def test_the_json_report_follows_its_published_versioned_schema(
    repolens: Callable[..., Result], project: Repo, tmp_path: Path
) -> None:
    from repolens.reports.json import schema

    out = tmp_path / "out"
    scan(repolens, project.path, out, "--analyzers", "ruff,bandit,secrets,plan,skills")
    report = Result(0, "", "").report(out)

    jsonschema.validate(report, schema())
    assert report["schema_version"] == 1
    assert report["findings"] and report["plan"] and report["skills"]


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"REPOLENS_JOB_WORKERS": "many"}, "REPOLENS_JOB_WORKERS: Input should be a valid integer"),
        ({"REPOLENS_JOB_TIME_LIMIT_SECONDS": "60"},
         "REPOLENS_JOB_SOFT_TIME_LIMIT_SECONDS (1800) must be below "
         "REPOLENS_JOB_TIME_LIMIT_SECONDS (60)"),
    ],
)  # fmt: skip
def test_a_bad_setting_is_one_clear_line_naming_the_variable_and_exit_2(
    repolens: Callable[..., Result], variables: dict[str, str], message: str
) -> None:
    result = repolens("runs", **variables)

    assert result.code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("error: bad configuration: ") and message in line


def test_scanning_the_same_commit_again_does_not_scan_its_own_reports(
    repolens: Callable[..., Result], project: Repo
) -> None:
    counts = []
    for out in ("repolens-report", "repolens-report", "build/reports", "build/reports"):
        result = repolens("scan", ".", "--out", out, "--analyzers", "secrets,ruff",
                          cwd=project.path)  # fmt: skip
        assert result.code == 0, result.stderr
        report = result.report(project.path / out)
        counts.append((len(report["findings"]), report["inventory"]["files"]))
    assert len(set(counts)) == 1, counts


def test_a_file_an_engine_cannot_read_is_said_on_the_terminal(
    repolens: Callable[..., Result], make_repo: Callable[..., Repo], tmp_path: Path
) -> None:
    repo = make_repo()
    repo.commit({"old.py": 'print "python 2"\n', "new.py": "x = 1\n"})
    result = scan(repolens, repo.path, tmp_path / "out", "--analyzers", "bandit")
    assert result.code == 0, result.stderr
    assert "bandit: bandit could not analyse old.py" in result.stdout


def test_the_html_report_filters_and_sorts_its_findings_in_the_page(
    repolens: Callable[..., Result], project: Repo, tmp_path: Path
) -> None:
    from html.parser import HTMLParser

    out = tmp_path / "out"
    scan(repolens, project.path, out, "--format", "html,json", "--analyzers", "bandit,ruff")
    page = (out / "report.html").read_text()
    report = json.loads((out / "report.json").read_text())

    class Rows(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.rows: list[dict[str, str | None]] = []
            self.options: list[str] = []
            self.scripts: list[dict[str, str | None]] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "tr" and dict(attrs).get("data-severity"):
                self.rows.append(dict(attrs))
            if tag == "script":
                self.scripts.append(dict(attrs))

    parsed = Rows()
    parsed.feed(page)
    assert len(parsed.rows) == len(report["findings"])  # one table, a row a finding
    assert {r["data-category"] for r in parsed.rows} == {f["category"] for f in report["findings"]}
    assert all(r["data-rank"] and r["data-where"] and r["data-rule"] for r in parsed.rows)
    assert parsed.scripts == [{}]  # one inline script, nothing loaded from elsewhere
    assert 'data-filter="severity"' in page and 'th data-sort="rank"' in page
