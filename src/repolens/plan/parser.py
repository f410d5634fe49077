"""Parsing a plan document with a real Markdown parser.

Tasks are checklist items (any bullet, `[ ]` `[x]` `[~]` `[-]` `[!]`), list
items led by a status emoji, and rows of tables that have a task and a status
column. Code fences and HTML comments are never read as tasks. Each task keeps
its heading path, the line it is on and its title exactly as written."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.token import Token

from repolens.plan import status as statuses
from repolens.plan.model import PlanTask, Source, TaskStatus

_PRIORITY = re.compile(
    r"[\[(]\s*(P[0-4])\s*[\])]|(?<![\w-])(P[0-4])(?=[:\s]|$)"
    r"|priority\s*[:=]\s*(critical|high|medium|low)|[\[(](critical|high|medium|low)[\])]",
    re.IGNORECASE,
)
_BRACKETED_PRIORITY = re.compile(r"\s*[\[(]\s*(P[0-4]|critical|high|medium|low)\s*[\])]", re.I)
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_STATUS_LINE = re.compile(r"^\W*status\W*[:=-]\s*(.+)$", re.I)
_TASK_HEADER = re.compile(r"^(task|tasks|item|feature|phase|name|deliverable|title|milestone|"
                          r"component|story|work ?item|step|goal)s?$", re.I)  # fmt: skip
_STATUS_HEADER = re.compile(r"^(status|state|done|progress|complete[d]?)$", re.I)


@dataclass
class Heading:
    level: int
    title: str
    line: int
    declared: TaskStatus | None = None


@dataclass
class Document:
    """A parsed plan file: its tasks and the headings they sit under."""

    tasks: list[PlanTask] = field(default_factory=list)
    headings: list[Heading] = field(default_factory=list)
    phase_level: int | None = None


def parse(text: str, file: str, first_line: int = 1) -> Document:
    """Parse TEXT (the contents of FILE, starting at FIRST_LINE) into a Document."""
    text = repair_mojibake(text)
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    return _Walk(file, first_line - 1).run(tokens)


def repair_mojibake(text: str) -> str:
    """Undo UTF-8 that was read as Windows-1252 or -1254 and saved again
    ("âœ…" or "ğŸ”’" for an emoji); text that is not such a mix is returned as is.
    Bytes the misreading dropped cannot come back: what they broke is left out."""
    if not re.search("[âðÃğ][\x80-\xbf\u0152-\u2122]", text):
        return text
    for codec in ("cp1252", "cp1254"):
        try:
            raw = b"".join(_byte_of(char, codec) for char in text)
        except UnicodeEncodeError:
            continue
        repaired = raw.decode("utf-8", errors="replace")
        if repaired.count("\ufffd") * 100 <= len(repaired):
            return repaired.replace("\ufffd", "")
    return text


def _byte_of(char: str, codec: str) -> bytes:
    try:
        return char.encode(codec)
    except UnicodeEncodeError:
        if ord(char) > 0xFF:  # a real non-Latin character: this text is not mojibake
            raise
        return bytes([ord(char)])


def priority_of(title: str) -> str | None:
    match = _PRIORITY.search(title)
    if match is None:
        return None
    value = next(group for group in match.groups() if group)
    return value.upper() if value[0] in "pP" else value.lower()


class _Walk:
    def __init__(self, file: str, offset: int) -> None:
        self.file = file
        self.offset = offset
        self.document = Document()
        self.path: list[Heading] = []
        self.open_items: list[str | None] = []  # per open list item: its task id, if a task
        self.seen: Counter[tuple[str, ...]] = Counter()

    def run(self, tokens: list[Token]) -> Document:
        index = 0
        while index < len(tokens):
            index = self._step(tokens, index)
        self.document.phase_level = _phase_level(self.document.headings)
        for task in self.document.tasks:
            task.phase = self._phase_of(task)
        return self.document

    def _step(self, tokens: list[Token], index: int) -> int:
        token = tokens[index]
        if token.type == "heading_open":
            self._heading(token, tokens[index + 1])
            return index + 3
        if token.type == "list_item_open":
            self.open_items.append(None)
        elif token.type == "list_item_close":
            self.open_items.pop()
        elif token.type == "table_open":
            return self._table(tokens, index)
        elif token.type == "inline" and index >= 2:
            self._paragraph(token, tokens[index - 2])
        return index + 1

    def _line(self, token: Token) -> int:
        return (token.map[0] if token.map else 0) + 1 + self.offset

    def _heading(self, token: Token, inline: Token) -> None:
        level = int(token.tag[1])
        declared, title = statuses.trailing_emoji(plain_text(inline))
        heading = Heading(level, title, self._line(token), declared)
        while self.path and self.path[-1].level >= level:
            self.path.pop()
        self.path.append(heading)
        self.document.headings.append(heading)

    def _paragraph(self, inline: Token, before: Token) -> None:
        text = plain_text(inline)
        first_in_item = before.type == "list_item_open" and self.open_items
        if first_in_item and self.open_items[-1] is None:
            found = statuses.checkbox(text)
            source: Source = "checkbox"
            if found is None:
                found, source = statuses.leading_emoji(text), "emoji"
            if found is not None:
                self._add(found[0], found[1], self._line(inline), source)
                return
        status_line = _STATUS_LINE.match(text)
        if status_line and self.path and self.path[-1].declared is None:
            self.path[-1].declared = statuses.from_text(status_line.group(1))

    def _add(self, status: TaskStatus, written: str, line: int, source: Source) -> None:
        priority = priority_of(written)
        title = _BRACKETED_PRIORITY.sub("", written).strip() or written.strip()
        section = [h.title for h in self.path]
        key = (*section, title)
        ordinal = self.seen[key]
        self.seen[key] += 1
        task_id = hashlib.sha1("\x1f".join((*key, str(ordinal))).encode()).hexdigest()[:12]
        parents = [item for item in self.open_items[:-1] if item is not None]
        self.document.tasks.append(
            PlanTask(
                id=task_id,
                title=title,
                status=status,
                file=self.file,
                line=line,
                section=section,
                priority=priority,
                depth=len(parents),
                parent=parents[-1] if parents else None,
                source=source,
            )
        )
        if self.open_items:
            self.open_items[-1] = task_id

    def _table(self, tokens: list[Token], index: int) -> int:
        rows: list[tuple[int, list[str]]] = []
        while tokens[index].type != "table_close":
            token = tokens[index]
            if token.type == "tr_open":
                rows.append((self._line(token), []))
            elif token.type == "inline" and rows:
                rows[-1][1].append(plain_text(token))
            index += 1
        self._table_tasks(rows)
        return index + 1

    def _table_tasks(self, rows: list[tuple[int, list[str]]]) -> None:
        if len(rows) < 2:
            return
        header = [cell.strip() for cell in rows[0][1]]
        task_column = next((i for i, h in enumerate(header) if _TASK_HEADER.match(h)), None)
        status_column = next((i for i, h in enumerate(header) if _STATUS_HEADER.match(h)), None)
        if task_column is None or status_column is None:
            return
        for line, cells in rows[1:]:
            if max(task_column, status_column) < len(cells) and cells[task_column].strip():
                status = statuses.from_text(cells[status_column]) or TaskStatus.TODO
                self._add(status, cells[task_column], line, "table")

    def _phase_of(self, task: PlanTask) -> str | None:
        level = self.document.phase_level
        if level is None:
            return None
        headings = [h for h in self.document.headings if h.line <= task.line]
        for heading in reversed(headings):
            if heading.level == level:
                return heading.title
            if heading.level < level:
                return None
        return None


def plain_text(inline: Token) -> str:
    """The first line of an inline token as its author wrote it, less the
    emphasis and link markup and any HTML comment; hyphens, punctuation and
    inline tags are kept."""
    parts: list[str] = []
    for child in inline.children or []:
        if child.type in ("softbreak", "hardbreak"):
            break
        if child.type in ("text", "code_inline", "html_inline", "image"):
            parts.append(child.content)
    text = _HTML_COMMENT.sub("", "".join(parts))
    return " ".join(text.split())


def _phase_level(headings: list[Heading]) -> int | None:
    """Phases are the shallowest headings that repeat: a lone `#` title is
    the document's name, not a phase."""
    levels = Counter(h.level for h in headings)
    candidates = sorted(level for level in levels if not (level == 1 and levels[1] == 1))
    return candidates[0] if candidates else None
