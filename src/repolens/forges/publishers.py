"""Feedback where a team works, one class per way of giving it:

- GitHub with an App: a check run per commit, in progress as the run starts,
  completed with its conclusion, summary and annotations (50 per call, as the
  API takes them);
- GitHub with a token, GitLab, Gitea/Forgejo: a commit status, and on a pull
  request one summary comment (a merge request note on GitLab), edited in place
  on each new push rather than posted again.

What a call creates (`check_run`, `comment`) it hands to its target's
`remember` at once, for the next call to update rather than create."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote

from repolens.forges.client import ForgeClient, id_of
from repolens.forges.feedback import Said

NAME = "repolens"  # the check run's name, the status's context (and the project's, if shared)
BATCH = 50  # annotations per check-run call


@dataclass(frozen=True)
class Target:
    """The commit (and pull request) feedback is about, and what earlier calls
    created for it."""

    repository: str  # owner/name (GitLab: the project's full path)
    commit: str
    pull_request: int | None = None
    remembered: dict[str, Any] = field(default_factory=dict)
    run_id: int = 0
    # Keeps what a call created or sent, at once: a retried job skips what is done.
    remember: Callable[[dict[str, Any]], None] = lambda created: None
    name: str = NAME  # the check run's name, the status's context


class Publisher(Protocol):
    def started(self, target: Target) -> None: ...

    def finished(self, target: Target, said: Said) -> None: ...


class GitHubChecks:
    def __init__(self, client: ForgeClient) -> None:
        self.client = client

    def started(self, target: Target) -> None:
        if "check_run" not in target.remembered:
            self._open(target)

    def _open(self, target: Target) -> int:
        """This run's check run on its commit: found again (made by a job whose
        memory of it was lost, or by a twin), else made; remembered either way."""
        check = self._existing(target)
        if check is None:
            check = self.client.create("POST", f"repos/{target.repository}/check-runs",
                                       {"name": target.name, "head_sha": target.commit,
                                        "status": "in_progress",
                                        "external_id": str(target.run_id)})  # fmt: skip
        target.remember({"check_run": check})
        return check

    def _existing(self, target: Target) -> int | None:
        """The check run this run already has on its commit (by `external_id`)."""
        listed = self.client.call(
            "GET", f"repos/{target.repository}/commits/{target.commit}/check-runs"
                   f"?check_name={quote(target.name)}&filter=all"
        )  # fmt: skip
        runs = listed.get("check_runs") if isinstance(listed, dict) else None
        for each in runs if isinstance(runs, list) else []:
            if isinstance(each, dict) and each.get("external_id") == str(target.run_id):
                return id_of(each)
        return None

    def finished(self, target: Target, said: Said) -> None:
        """Complete the check run, then add its annotations 50 a call. GitHub
        appends annotations on every update: each batch sent is remembered at
        once, so a retried job sends only the rest."""
        known = target.remembered.get("check_run")
        check = known if known is not None else self._open(target)
        path = f"repos/{target.repository}/check-runs/{check}"
        batches = [said.annotations[at : at + BATCH]
                   for at in range(0, len(said.annotations), BATCH)] or [[]]  # fmt: skip
        sent = int(target.remembered.get("batches", 0)) if known is not None else 0
        for number, batch in enumerate(batches[sent:], start=sent):
            output = {"title": said.title, "summary": said.summary, "annotations": batch}
            body: dict[str, Any] = {"output": output}
            if number == 0:
                body.update(status="completed", conclusion="success" if said.passed else "failure")
                if said.details_url:
                    body["details_url"] = said.details_url
            self.client.call("PATCH", path, body)
            target.remember({"batches": number + 1})


class StatusAndComment:
    """A commit status and one comment, for forges (and GitHub tokens) without
    check runs. The paths differ by forge; the steps do not."""

    def __init__(self, client: ForgeClient, forge: str) -> None:
        self.client, self.forge = client, forge

    def started(self, target: Target) -> None:
        self._status(target, "pending", "analysing…", None)

    def finished(self, target: Target, said: Said) -> None:
        self._status(target, "success" if said.passed else "failure", said.title,
                     said.details_url)  # fmt: skip
        if target.pull_request is None:
            return
        body = {"body": f"{comment_marker(target.name)}\n{said.summary}"}
        comment = target.remembered.get("comment") or self._existing(target)
        if comment is not None:
            self.client.call(self._edit_method, self._comment(target, comment), body)
        else:
            comment = self.client.create("POST", self._comments(target), body)
        target.remember({"comment": comment})

    def _existing(self, target: Target) -> int | None:
        """The comment this project already keeps on the pull request (by its
        marker): found again whatever was forgotten, so there is only ever one."""
        listed = self.client.call("GET", f"{self._comments(target)}?per_page=100")
        wanted = comment_marker(target.name)
        for each in listed if isinstance(listed, list) else []:
            body = each.get("body") if isinstance(each, dict) else None
            if isinstance(body, str) and body.startswith(wanted):
                return id_of(each)
        return None

    def _status(self, target: Target, state: str, description: str, url: str | None) -> None:
        if self.forge == "gitlab":
            gitlab_state = {"pending": "running", "success": "success", "failure": "failed"}
            body: dict[str, Any] = {"state": gitlab_state[state], "name": target.name,
                                    "description": description[:140]}  # fmt: skip
            if url:
                body["target_url"] = url
            self.client.call("POST", f"projects/{_project(target)}/statuses/{target.commit}", body)
            return
        body = {"state": state, "context": target.name, "description": description[:140]}
        if url:
            body["target_url"] = url
        self.client.call("POST", f"repos/{target.repository}/statuses/{target.commit}", body)

    @property
    def _edit_method(self) -> str:
        return "PUT" if self.forge == "gitlab" else "PATCH"

    def _comments(self, target: Target) -> str:
        if self.forge == "gitlab":
            return f"projects/{_project(target)}/merge_requests/{target.pull_request}/notes"
        return f"repos/{target.repository}/issues/{target.pull_request}/comments"

    def _comment(self, target: Target, comment: int) -> str:
        if self.forge == "gitlab":
            return f"{self._comments(target)}/{comment}"
        return f"repos/{target.repository}/issues/comments/{comment}"


def comment_marker(name: str) -> str:
    """The first line of the comment a project (named by its check NAME) keeps."""
    return f"<!-- repolens:comment {hashlib.sha256(name.encode()).hexdigest()[:16]} -->"


def _project(target: Target) -> str:
    """A GitLab project named by its full path, as its API takes it."""
    return quote(target.repository, safe="")
