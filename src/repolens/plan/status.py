"""Reading a status from the many ways people write one."""

from __future__ import annotations

import re

from repolens.plan.model import TaskStatus

CHECKBOX = re.compile(r"^\[([ xX~!\-])\]\s+")
_MARKERS = {
    " ": TaskStatus.TODO, "x": TaskStatus.DONE, "X": TaskStatus.DONE,
    "~": TaskStatus.IN_PROGRESS, "-": TaskStatus.IN_PROGRESS, "!": TaskStatus.BLOCKED,
}  # fmt: skip

_EMOJI = {
    "✅": TaskStatus.DONE, "✔": TaskStatus.DONE, "☑": TaskStatus.DONE, "🟢": TaskStatus.DONE,
    "🚧": TaskStatus.IN_PROGRESS, "⏳": TaskStatus.IN_PROGRESS, "🔄": TaskStatus.IN_PROGRESS,
    "🟡": TaskStatus.IN_PROGRESS, "⛔": TaskStatus.BLOCKED, "🛑": TaskStatus.BLOCKED,
    "🚫": TaskStatus.BLOCKED, "🔴": TaskStatus.BLOCKED, "⬜": TaskStatus.TODO,
    "☐": TaskStatus.TODO, "❌": TaskStatus.TODO, "📋": TaskStatus.TODO,
}  # fmt: skip
_EMOJI_LEAD = re.compile("^(" + "|".join(map(re.escape, _EMOJI)) + ")\ufe0f?\\s*")

_WORDS = [
    (re.compile(r"\b(blocked|stuck|on hold|waiting on)\b", re.I), TaskStatus.BLOCKED),
    (re.compile(r"\b(in[ -]progress|wip|ongoing|started|partial(ly)?|doing|underway)\b", re.I),
     TaskStatus.IN_PROGRESS),
    (re.compile(r"\b(not started|todo|to do|planned|pending|backlog|open)\b", re.I),
     TaskStatus.TODO),
    (re.compile(r"\b(done|complete|completed|finished|shipped|implemented|yes|100 ?%)\b", re.I),
     TaskStatus.DONE),
]  # fmt: skip


def checkbox(text: str) -> tuple[TaskStatus, str] | None:
    """`[x] title` → (done, title); None when TEXT has no checkbox."""
    match = CHECKBOX.match(text)
    if match is None:
        return None
    return _MARKERS[match.group(1)], text[match.end() :]


def leading_emoji(text: str) -> tuple[TaskStatus, str] | None:
    """`✅ title` → (done, title); None when TEXT does not start with a status emoji."""
    match = _EMOJI_LEAD.match(text)
    if match is None:
        return None
    return _EMOJI[match.group(1)], text[match.end() :]


def from_text(text: str) -> TaskStatus | None:
    """A free-text status ("✅ Complete", "In progress", "blocked") or None."""
    for symbol, status in _EMOJI.items():
        if symbol in text:
            return status
    for pattern, status in _WORDS:
        if pattern.search(text):
            return status
    return None


def trailing_emoji(text: str) -> tuple[TaskStatus | None, str]:
    """A heading's trailing status mark: `Auth ✅` → (done, "Auth")."""
    stripped = text.rstrip().removesuffix("\ufe0f")
    for symbol, status in _EMOJI.items():
        if stripped.endswith(symbol):
            return status, stripped[: -len(symbol)].rstrip()
    return None, text
