"""Where a file lives decides how much its findings weigh. Every file gets one
role: production `source`, or `test`, `fixture`, `example`, `docs`,
`generated`, `vendored`. The score counts production code; findings elsewhere
are still reported, with their role, and a secret in a test or fixture is less
certain (test data is mostly made up).

Decided, first match wins, by the repository's `.repolens.yml` `roles:`, then
`.gitattributes` (`linguist-generated`, `linguist-vendored`,
`linguist-documentation`), then the usual places and names."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from enum import StrEnum
from pathlib import PurePosixPath

import pathspec


class Role(StrEnum):
    SOURCE = "source"
    TEST = "test"
    FIXTURE = "fixture"
    EXAMPLE = "example"
    DOCS = "docs"
    GENERATED = "generated"
    VENDORED = "vendored"


FIXTURE_DIRS = frozenset({"fixtures", "fixture", "testdata", "test_data", "test-data",
                          "__fixtures__", "__snapshots__", "snapshots", "cassettes", "mocks",
                          "__mocks__"})  # fmt: skip
TEST_DIRS = frozenset({"test", "tests", "__tests__", "spec", "specs", "testing", "e2e",
                       "integration_tests", "unit_tests"})  # fmt: skip
EXAMPLE_DIRS = frozenset({"examples", "example", "samples", "sample", "demo", "demos"})
DOCS_DIRS = frozenset({"docs", "doc", "documentation", "website"})
# Build output that packages ship beside their source (an npm package's dist/),
# and folders that say they are generated.
GENERATED_DIRS = frozenset({"dist"})
GENERATED_ANYWHERE = frozenset({"__generated__", "generated"})
TEST_NAMES = re.compile(
    r"^(test_.*\.py|.*_test\.(py|go|rb|exs?)|conftest\.py|.*\.(test|spec)\.[cm]?[jt]sx?"
    r"|.*Tests?\.(java|kt|cs|swift)|.*_spec\.rb)$"
)
ATTRIBUTES = {"linguist-generated": Role.GENERATED, "linguist-vendored": Role.VENDORED,
              "linguist-documentation": Role.DOCS}  # fmt: skip


class Roles:
    """The role of each path of one repository."""

    def __init__(self, rules: Iterable[tuple[pathspec.GitIgnoreSpec, Role]] = ()) -> None:
        self.rules = list(rules)

    @classmethod
    def of(cls, configured: Mapping[Role, list[str]], gitattributes: str = "") -> Roles:
        """From `.repolens.yml`'s `roles:` (role: patterns) and `.gitattributes`."""
        rules = [(pathspec.GitIgnoreSpec.from_lines(patterns), Role(role))
                 for role, patterns in configured.items() if patterns]  # fmt: skip
        return cls(rules + _attributes(gitattributes))

    def of_path(self, path: str) -> Role:
        for spec, role in self.rules:
            if spec.match_file(path):
                return role
        return by_place(path)


def by_place(path: str) -> Role:
    parts = PurePosixPath(path).parts
    folders, name = {part.lower() for part in parts[:-1]}, parts[-1]
    if (parts[0] in GENERATED_DIRS and len(parts) > 1) or folders & GENERATED_ANYWHERE:
        return Role.GENERATED
    if folders & FIXTURE_DIRS:
        return Role.FIXTURE
    if folders & TEST_DIRS or TEST_NAMES.match(name):
        return Role.TEST
    if folders & EXAMPLE_DIRS:
        return Role.EXAMPLE
    if folders & DOCS_DIRS:
        return Role.DOCS
    return Role.SOURCE


def _attributes(text: str) -> list[tuple[pathspec.GitIgnoreSpec, Role]]:
    """`.gitattributes` lines that give a linguist role (later lines win in git;
    here the first matching rule wins, so they are read last first)."""
    rules = []
    for line in reversed(text.splitlines()[:2000]):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        for attribute in fields[1:]:
            name, _, value = attribute.partition("=")
            if name in ATTRIBUTES and value.lower() not in ("false", "0"):
                spec = pathspec.GitIgnoreSpec.from_lines([fields[0]])
                rules.append((spec, ATTRIBUTES[name]))
    return rules
