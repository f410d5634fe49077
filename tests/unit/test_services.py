"""An analyzer reaches the outside world only through its context's services:
a fake in tests, nothing unless a scan provides them."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import pytest

from repolens import scan
from repolens.analyzers.base import (
    AnalyzerContext,
    Category,
    Finding,
    NoOptions,
    Outcome,
    Severity,
    Snapshot,
    SourceFile,
)
from repolens.analyzers.registry import Registry
from repolens.analyzers.runner import Runner
from repolens.analyzers.services import Answer, CountingBudget, MemoryHttp, Provided, Request
from repolens.errors import ServiceNotProvided
from repolens.settings import Settings
from tests.conftest import Repo
from tests.unit.test_runner import WholeRepository

REVIEWER = "https://reviewer.example/v1/review"


class ReviewingAnalyzer(WholeRepository):
    """Asks a reviewer over HTTP about the files, one unit of budget a file."""

    name: ClassVar[str] = "review"

    def analyze(self, snapshot: Snapshot, context: AnalyzerContext[NoOptions]) -> Outcome:
        paths = [f.path for f in snapshot.files]
        if not context.services.budget.spend(len(paths)):
            return Outcome(warnings=["over budget: not reviewed"])
        answer = context.services.http.post(
            REVIEWER, json={"paths": paths}, headers={"X-Model": "small"}, timeout=30
        )
        notes = answer.json()["notes"]
        return Outcome([self._finding(note["path"], note["text"]) for note in notes])

    def _finding(self, path: str, text: str) -> Finding:
        return Finding(
            self.name, "review", "Reviewed", text, Category.MAINTAINABILITY, Severity.INFO, path
        )


def snapshot_of(root: Path, *paths: str) -> Snapshot:
    files = []
    for path in paths:
        (root / path).write_text("x = 1\n")
        files.append(SourceFile(path, "python", 1, 6, "0" * 64))
    return Snapshot(root, tuple(files))


def fake(budget: int) -> tuple[MemoryHttp, Provided]:
    notes = {"notes": [{"path": "a.py", "text": "Name x says nothing."}]}
    http = MemoryHttp({REVIEWER: Answer(200, notes)})
    return http, Provided(http=http, budget=CountingBudget(budget))


def test_an_analyzer_gets_the_fakes_answer_and_the_fake_records_the_request(
    tmp_path: Path,
) -> None:
    http, services = fake(budget=10)
    runner = Runner([(ReviewingAnalyzer(), NoOptions())], services=services)
    (step,) = runner.run(snapshot_of(tmp_path, "a.py", "b.py"))

    assert [(f.path, f.message) for f in step.findings] == [("a.py", "Name x says nothing.")]
    assert http.requests == [
        Request(REVIEWER, {"paths": ["a.py", "b.py"]}, {"X-Model": "small"}, 30)
    ]
    assert services.budget.remaining == 8


def test_with_no_services_given_an_analyzer_that_reaches_out_fails_its_step(
    tmp_path: Path,
) -> None:
    (step,) = Runner([(ReviewingAnalyzer(), NoOptions())]).run(snapshot_of(tmp_path, "a.py"))

    assert step.status == "failed"
    assert step.error == "this scan gives its analyzers no budget to spend"


def test_a_context_made_without_services_refuses_http() -> None:
    context = AnalyzerContext(options=NoOptions())
    with pytest.raises(ServiceNotProvided, match="no HTTP client"):
        context.services.http.post(REVIEWER, json={}, headers={}, timeout=1)


def test_an_analyzer_over_its_budget_sends_nothing(tmp_path: Path) -> None:
    http, services = fake(budget=1)
    runner = Runner([(ReviewingAnalyzer(), NoOptions())], services=services)
    (step,) = runner.run(snapshot_of(tmp_path, "a.py", "b.py"))

    assert (step.findings, step.warnings) == ([], ["over budget: not reviewed"])
    assert http.requests == []
    assert services.budget.remaining == 1


def test_the_budget_stops_spending_at_its_limit() -> None:
    budget = CountingBudget(5)
    spent = [budget.spend(3), budget.spend(3), budget.spend(2), budget.spend(1)]
    assert spent == [True, False, True, False]
    assert budget.remaining == 0


def test_threads_spending_together_never_overspend() -> None:
    budget = CountingBudget(50)
    granted: list[bool] = []
    lock = threading.Lock()

    def spend() -> None:
        for _ in range(20):
            ok = budget.spend(1)
            with lock:
                granted.append(ok)

    threads = [threading.Thread(target=spend) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (granted.count(True), budget.remaining) == (50, 0)


def test_a_fake_answers_a_url_it_was_not_given_with_404() -> None:
    answer = MemoryHttp().post("https://elsewhere.example/", json=None, headers={}, timeout=1)
    assert answer.status_code == 404


class BudgetAnalyzer(ReviewingAnalyzer):
    """Says how much it may spend."""

    name: ClassVar[str] = "budget"

    def analyze(self, snapshot: Snapshot, context: AnalyzerContext[NoOptions]) -> Outcome:
        return Outcome(warnings=[f"{context.services.budget.remaining} units"])


def test_a_scan_gives_its_analyzers_the_budget_its_settings_allow(
    make_repo: Callable[..., Repo], settings: Settings
) -> None:
    repo = make_repo()
    repo.commit({"a.py": "x = 1\n"})
    allowed = settings.model_copy(update={"analyzer_budget_units": 7})
    request = scan.ScanRequest(str(repo.path))
    report = scan.run(request, allowed, registry=Registry({"budget": BudgetAnalyzer}))
    assert report.steps[0].warnings == ["7 units"]
