"""Deliveries that arrive together are taken in together: one transaction for
the batch, each delivery's outcome its own, and one delivery's failure not the
others'."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event as sql_event
from sqlalchemy.orm import Session, sessionmaker

from repolens.errors import QueueUnavailable, Refused
from repolens.forges import github
from repolens.forges.events import Event
from repolens.jobs import deliveries
from repolens.jobs.intake import Intake
from repolens.settings import Settings
from repolens.storage import projects

REPOSITORY = {"full_name": "octo/hello", "clone_url": "https://github.com/octo/hello"}


def push(commit: str) -> Event:
    return github.read("push", {"ref": "refs/heads/main", "after": commit,
                                "repository": REPOSITORY})  # fmt: skip


def watched(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        projects.create(session, name="p", repository_url="https://github.com/octo/hello",
                        repository_key="github.com/octo/hello")  # fmt: skip


def test_deliveries_waiting_together_are_recorded_in_one_transaction_each_with_its_outcome(
    sessions: sessionmaker[Session],
) -> None:
    watched(sessions)
    commits: list[Any] = []
    sql_event.listen(sessions, "after_commit", lambda session: commits.append(session))
    intake = Intake(sessions, Settings(), jobs=None)  # type: ignore[arg-type]
    answers = [intake.submit(push(f"{n:040x}"), f"d-{n}") for n in range(1, 21)]
    answers.append(intake.submit(push(f"{1:040x}"), "d-1"))  # the same delivery, again

    intake.start()
    outcomes = [answer.result(30) for answer in answers]
    intake.stop()

    assert len(commits) == 1
    assert [o.status for o in outcomes] == ["queued"] * 20 + ["duplicate"]
    assert len({o.runs[0] for o in outcomes[:20]}) == 20 and outcomes[20].runs == outcomes[0].runs


def test_a_delivery_that_fails_fails_alone(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    watched(sessions)
    real = deliveries.receive_all

    def refusing(session: Session, arrivals: list[deliveries.Arrival],
                 *args: Any) -> list[deliveries.Outcome]:  # fmt: skip
        if any(arrival.delivery_id == "bad" for arrival in arrivals):
            raise Refused("this one is refused")
        return real(session, arrivals, *args)

    monkeypatch.setattr(deliveries, "receive_all", refusing)
    intake = Intake(sessions, Settings(), jobs=None)  # type: ignore[arg-type]
    good, bad, later = (intake.submit(push(f"{n:040x}"), name)
                        for n, name in ((1, "good"), (2, "bad"), (3, "later")))  # fmt: skip

    intake.start()
    try:
        assert good.result(30).status == "queued" and later.result(30).status == "queued"
        with pytest.raises(Refused):
            bad.result(30)
    finally:
        intake.stop()


def test_a_delivery_still_waiting_when_the_server_stops_is_refused_not_left_hanging(
    sessions: sessionmaker[Session],
) -> None:
    intake = Intake(sessions, Settings(), jobs=None)  # type: ignore[arg-type]
    waiting = intake.submit(push(f"{7:040x}"), "late")  # never taken in: it did not start

    intake.stop()

    with pytest.raises(QueueUnavailable):
        waiting.result(5)
