"""Every language a team writes is read by a real engine, which follows the
project's own configuration for it."""

from __future__ import annotations

from collections.abc import Callable

from repolens import scan
from repolens.settings import Settings
from tests.conftest import Repo

FILES = {
    "web/app.js": "function f(a) { debugger; return eval(a); }\nf(1);\n",
    "web/view.ts": "export const show = (el: HTMLElement, s: string) => { el.innerHTML = s; };\n",
    "scripts/clean.sh": "#!/bin/sh\nrm -rf $1/*\n",
    "Dockerfile": "FROM python:3.12\nRUN pip install flask\nUSER root\n",
    ".github/workflows/ci.yml": (
        "on: pull_request_target\npermissions: {}\njobs:\n  t:\n    runs-on: ubuntu-latest\n"
        '    steps:\n      - run: echo "${{ github.event.pull_request.title }}"\n'
    ),
}
ENGINES = ["oxlint", "shellcheck", "hadolint", "zizmor", "semgrep"]


def found(repo: Repo, settings: Settings) -> tuple[set[tuple[str, str]], list[str]]:
    report = scan.run(scan.ScanRequest(str(repo.path), analyzers=ENGINES), settings)
    assert all(step.status == "completed" for step in report.steps), report.steps
    rules = {(f.analyzer, f.rule_id) for f in report.findings}
    rules |= {tuple(e.split("/", 1)) for f in report.findings for e in f.evidence}  # type: ignore[misc]
    return rules, [w for step in report.steps for w in step.warnings]


def test_javascript_typescript_shell_dockerfiles_and_workflows_are_analysed(
    make_repo: Callable[..., Repo], settings: Settings
) -> None:
    repo = make_repo()
    repo.commit(FILES)
    rules, _ = found(repo, settings)
    assert {("oxlint", "eslint(no-eval)"), ("oxlint", "eslint(no-debugger)"),
            ("semgrep", "js-inner-html"), ("shellcheck", "SC2115"), ("hadolint", "DL3002"),
            ("hadolint", "DL3013"), ("zizmor", "template-injection"),
            ("zizmor", "dangerous-triggers")} <= rules  # fmt: skip


def test_each_engine_follows_the_projects_configuration(
    make_repo: Callable[..., Repo], settings: Settings
) -> None:
    repo = make_repo()
    own = {
        ".oxlintrc.json": '{"rules": {"no-debugger": "off"}}\n',
        ".shellcheckrc": "disable=SC2115\n",
        ".hadolint.yaml": "ignored:\n  - DL3002\n",
        ".github/zizmor.yml": "rules:\n  dangerous-triggers:\n    disable: true\n",
    }
    repo.commit({**FILES, **own})
    rules, _ = found(repo, settings)
    assert ("oxlint", "eslint(no-eval)") in rules and ("oxlint", "eslint(no-debugger)") not in rules
    assert ("shellcheck", "SC2115") not in rules
    assert ("hadolint", "DL3002") not in rules and ("hadolint", "DL3013") in rules
    assert ("zizmor", "dangerous-triggers") not in rules
    assert ("zizmor", "template-injection") in rules


def test_an_oxlint_configuration_that_would_load_code_is_not_used(
    make_repo: Callable[..., Repo], settings: Settings
) -> None:
    repo = make_repo()
    repo.commit({**FILES, ".oxlintrc.json": '{"jsPlugins": ["./evil.js"], "rules": {}}\n'})
    rules, warnings = found(repo, settings)
    assert ("oxlint", "eslint(no-debugger)") in rules  # oxlint's defaults instead
    assert any(".oxlintrc.json is not used" in warning for warning in warnings)
