"""What repolens says on a pull request: the gate's verdict, a summary in
Markdown, and annotations on the lines of its new findings. Pure: built from
the run's stored findings, sent by a `publishers` class.

Only findings new in the pull request are annotated (they are what it brought
in); their number is bounded, and the summary says how many more there are and
links to the full report."""

from __future__ import annotations

import re
from dataclasses import dataclass

from repolens.analyzers.base import Severity

MARKER = "<!-- repolens:summary -->"  # finds the one comment repolens keeps up to date
ANNOTATIONS = 200  # at most, on one check run
LISTED = 20  # new findings listed in the summary itself
LEVEL = {"critical": "failure", "high": "failure", "medium": "warning", "low": "notice",
         "info": "notice"}  # fmt: skip


@dataclass(frozen=True)
class Note:
    """One finding as feedback shows it."""

    path: str
    line: int | None
    end_line: int | None
    severity: str
    rule_id: str
    title: str
    message: str


@dataclass(frozen=True)
class Said:
    passed: bool
    title: str
    summary: str  # Markdown, beginning with MARKER
    annotations: list[dict[str, object]]
    details_url: str | None = None


def verdict(new: list[Note], gate: str) -> tuple[bool, list[Note]]:
    """Whether the pull request passes GATE, and the new findings that block it."""
    if gate == "none":
        return True, []
    floor = Severity(gate).rank
    blocking = [note for note in new if _rank(note.severity) >= floor]
    return not blocking, blocking


def said(new: list[Note], existing: int, fixed: int, gate: str,
         details_url: str | None = None) -> Said:  # fmt: skip
    passed, blocking = verdict(new, gate)
    title = (f"{len(new)} new finding(s); none at {gate} or above" if passed
             else f"{len(blocking)} new finding(s) at {gate} or above")  # fmt: skip
    if not new:
        title = "no new findings"
    ordered = sorted(new, key=lambda note: (-_rank(note.severity), note.path, note.line or 0))
    lines = [MARKER, f"## repolens: {'passed' if passed else 'failed'}", "", title + ".", "",
             f"New in this pull request: **{len(new)}** · existing: {existing} · "
             f"fixed: {fixed}", ""]  # fmt: skip
    if ordered:
        lines += ["| severity | where | finding |", "| --- | --- | --- |"]
        lines += [f"| {note.severity} | {_cell(_where(note))} | {_cell(note.title)} |"
                  for note in ordered[:LISTED]]  # fmt: skip
        if len(ordered) > LISTED:
            more = f"and {len(ordered) - LISTED} more"
            lines += ["", f"{more}: [the full report]({details_url})." if details_url
                      else f"{more} in the full report."]  # fmt: skip
    return Said(passed, title, "\n".join(lines) + "\n", annotate(ordered), details_url)


def unfinished(status: str, error: str, details_url: str | None = None) -> Said:
    """What is said of a run that ended without results (failed, cancelled)."""
    summary = f"{MARKER}\n## repolens: the run {status}\n\n{plain(error, 1000)}\n"
    return Said(False, f"the run {status}"[:140], summary, [], details_url)


def annotate(new: list[Note]) -> list[dict[str, object]]:
    """GitHub check-run annotations for the first ANNOTATIONS new findings with a line."""
    placed = [note for note in new if note.line]
    return [
        {
            "path": note.path,
            "start_line": note.line,
            "end_line": max(note.end_line or note.line or 1, note.line or 1),
            "annotation_level": LEVEL.get(note.severity, "warning"),
            "title": f"{note.rule_id}: {note.title}"[:255],
            "message": note.message[:2000] or note.title,
        }
        for note in placed[:ANNOTATIONS]
    ]


def _rank(severity: str) -> int:
    try:
        return Severity(severity).rank
    except ValueError:
        return 0


def _where(note: Note) -> str:
    return f"{note.path}:{note.line}" if note.line else note.path


# Everything Markdown (GitHub's, GitLab's, Gitea's) gives a meaning to in running text.
_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>&:])")


def plain(text: str, limit: int = 200) -> str:
    """TEXT (from a scanned repository: hostile) as inert Markdown: one line,
    every character Markdown would act on escaped, so no link, image, heading,
    HTML or table cell comes of it, and `@` cannot mention anyone."""
    flat = " ".join(text.split())[:limit]
    return _SPECIAL.sub(r"\\\1", flat).replace("@", "@\u200b")


def _cell(text: str) -> str:
    return plain(text)
