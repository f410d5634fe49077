from __future__ import annotations

from collections import Counter

import pytest

from repolens.plan import progress
from repolens.plan.model import TaskStatus
from repolens.plan.parser import parse, repair_mojibake
from tests.conftest import seed_file


def statuses(text: str) -> list[tuple[str, str]]:
    return [(t.title, t.status.value) for t in parse(text, "plan.md").tasks]


# Counted by hand in ../shared/seeds (see docs/plan.md for how each is read).
SEED_COUNTS = {
    "000": {"todo": 21},  # five checklists under "Next Features" and "Security"
    "001": {"done": 34},  # "- ✅ ..." lines, mis-encoded as "âœ…" in the file
    "002": {"todo": 37},  # seven checklists of 5 or 7 items in three phases
    "003": {},  # a guide with no tasks
    "004": {"done": 18},  # 10 "[x]", 4 "✅ Complete" table rows, 4 "1. ✅" items
}


@pytest.mark.parametrize("seed", sorted(SEED_COUNTS))
def test_seed_plans_are_counted_as_a_person_counts_them(seed: str) -> None:
    path = seed_file(seed)
    document = parse(path.read_text(encoding="utf-8"), path.name)

    assert dict(Counter(t.status.value for t in document.tasks)) == SEED_COUNTS[seed]


def test_seed_phases_are_the_repeated_second_level_headings() -> None:
    path = seed_file("002")
    document = parse(path.read_text(encoding="utf-8"), path.name)
    summary = progress.summarise({path.name: document}, [])

    phases = {p.name: p.counts.total for p in summary.phases}
    assert phases["Phase 5.1: Redis Queue Integration"] == 10
    assert phases["Phase 5.2: Asynchronous Processing"] == 10
    assert phases["Phase 5.3: Manual Refresh System"] == 10
    assert phases["Definition of Done"] == 7
    assert summary.health == "red" and summary.percent == 0.0


def test_seed_table_rows_and_titles_keep_their_text() -> None:
    path = seed_file("004")
    tasks = parse(path.read_text(encoding="utf-8"), path.name).tasks

    titles = [t.title for t in tasks]
    assert "Phase 1" in titles  # "**Phase 1**" in a table with a Status column
    assert "Week 1-2: Phase 1 (Foundation)" in titles
    assert "SQL injection prevention (via ORM)" in titles


def test_every_bullet_and_marker_is_read() -> None:
    text = """
- [ ] dash todo
* [x] star done
+ [X] plus done
1. [~] ordered in progress
2) [-] paren in progress
- [!] blocked one
"""
    assert statuses(text) == [
        ("dash todo", "todo"),
        ("star done", "done"),
        ("plus done", "done"),
        ("ordered in progress", "in_progress"),
        ("paren in progress", "in_progress"),
        ("blocked one", "blocked"),
    ]


def test_titles_keep_hyphens_and_punctuation() -> None:
    text = "- [ ] Add real-time progress - end-to-end (WebSocket) — done right: v2.0\n"
    assert statuses(text) == [
        ("Add real-time progress - end-to-end (WebSocket) — done right: v2.0", "todo")
    ]


def test_code_fences_and_html_comments_are_not_tasks() -> None:
    text = """
```markdown
- [ ] inside a fence
```

    - [ ] inside an indented code block

<!--
- [ ] inside a comment
-->

- [x] real task <!-- with a note -->
"""
    assert statuses(text) == [("real task", "done")]


def test_nested_tasks_know_their_parent_and_depth() -> None:
    text = """
- [ ] parent
  - [x] child one
  - [ ] child two
    - [!] grandchild
- [x] sibling
"""
    tasks = parse(text, "plan.md").tasks
    parent, one, two, grandchild, sibling = tasks

    assert (one.parent, two.parent, grandchild.parent) == (parent.id, parent.id, two.id)
    assert [t.depth for t in tasks] == [0, 1, 1, 2, 0]
    assert sibling.parent is None


def test_tasks_record_section_phase_and_source_line() -> None:
    text = """# Roadmap

## Phase 1: Foundation ✅

### Backend
- [x] Database schema

## Phase 2: Live updates
**Status:** in progress

- [ ] WebSocket rooms
"""
    document = parse(text, "ROADMAP.md")
    schema, rooms = document.tasks

    assert schema.section == ["Roadmap", "Phase 1: Foundation", "Backend"]
    assert schema.phase == "Phase 1: Foundation"
    assert (schema.line, rooms.line) == (6, 11)
    summary = progress.summarise({"ROADMAP.md": document}, [])
    declared = {p.name: p.declared_status for p in summary.phases}
    assert declared == {
        "Phase 1: Foundation": TaskStatus.DONE,
        "Phase 2: Live updates": TaskStatus.IN_PROGRESS,
    }


def test_tables_with_a_task_and_a_status_column_are_tasks() -> None:
    text = """
| Task | Owner | Status |
|------|-------|--------|
| Set-up CI | ann | ✅ Done |
| Write docs | bob | In progress |
| Ship it | cy | Blocked on legal |
| Plan next | dee | |

| Metric | Before | After |
|---|---|---|
| Coverage | 0% | 75% |
"""
    assert statuses(text) == [
        ("Set-up CI", "done"),
        ("Write docs", "in_progress"),
        ("Ship it", "blocked"),
        ("Plan next", "todo"),
    ]


def test_priority_tags_are_read_and_bracketed_tags_leave_the_title() -> None:
    text = """
- [ ] [P0] Fix the outage
- [ ] Tidy the docs (low)
- [ ] P2: Rename the module
- [ ] Rotate keys priority: high
- [ ] Review PR-12 notes
"""
    tasks = parse(text, "plan.md").tasks
    assert [(t.title, t.priority) for t in tasks] == [
        ("Fix the outage", "P0"),
        ("Tidy the docs", "low"),
        ("P2: Rename the module", "P2"),
        ("Rotate keys priority: high", "high"),
        ("Review PR-12 notes", None),
    ]


def test_identity_is_stable_per_section_title_and_ordinal() -> None:
    text = "## A\n- [ ] same\n- [ ] same\n## B\n- [ ] same\n"
    first = [t.id for t in parse(text, "plan.md").tasks]
    moved = [t.id for t in parse("intro\n\n" + text.replace("[ ]", "[x]"), "plan.md").tasks]

    assert len(set(first)) == 3
    assert first == moved  # status and position do not change who a task is


def test_malformed_markdown_still_parses() -> None:
    text = "## Unclosed [link\n- [x] done *unclosed emphasis\n```\n- [ ] in an unclosed fence\n"
    assert statuses(text) == [("done *unclosed emphasis", "done")]


def test_mojibake_is_repaired_and_clean_text_is_left_alone() -> None:
    assert repair_mojibake("- âœ… Done") == "- ✅ Done"
    assert repair_mojibake("Plain — “quoted” café ✅") == "Plain — “quoted” café ✅"


@pytest.mark.parametrize(
    ("done", "blocked", "total", "health"),
    [(0, 0, 0, "unknown"), (8, 0, 10, "green"), (8, 1, 10, "red"), (5, 0, 10, "yellow"),
     (2, 0, 10, "red")],
)  # fmt: skip
def test_health_follows_the_documented_rules(
    done: int, blocked: int, total: int, health: str
) -> None:
    lines = ["- [x] d"] * done + ["- [!] b"] * blocked + ["- [ ] t"] * (total - done - blocked)
    document = parse("\n".join(lines), "plan.md")
    assert progress.summarise({"plan.md": document}, []).health == health
