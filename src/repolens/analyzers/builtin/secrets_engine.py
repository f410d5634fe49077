"""The child process that drives detect-secrets over a batch of files.

detect-secrets runs every plugin on every line through a layer of Python
calls, which makes it the slowest engine on a large tree. Almost no line can
hold a secret, and which ones can is knowable in advance: a regex-based plugin
needs its own pattern to match, the keyword plugin one of its keywords, and a
high-entropy plugin a run of its alphabet long enough to pass its limit
(entropy over n symbols is at most log2 n). One scan of the file text with
those patterns picks the candidate lines; detect-secrets then judges only those,
with its own plugins, filters and context. A plugin of a kind not listed here
turns the shortcut off."""

from __future__ import annotations

import bisect
import json
import math
import os
import re
import sys
from collections.abc import Iterator
from typing import Any

from repolens.masking import mask


def candidate_patterns(plugins: list[Any]) -> list[re.Pattern[str]] | None:
    """Patterns whose matches cover every line a plugin could report, or None."""
    from detect_secrets.plugins.base import RegexBasedDetector
    from detect_secrets.plugins.high_entropy_strings import HighEntropyStringsPlugin
    from detect_secrets.plugins.keyword import DENYLIST, KeywordDetector

    patterns: list[re.Pattern[str]] = []
    for plugin in plugins:
        if isinstance(plugin, KeywordDetector):
            patterns.append(re.compile("|".join(DENYLIST), re.IGNORECASE))
        elif isinstance(plugin, HighEntropyStringsPlugin):
            shortest = math.floor(2**plugin.entropy_limit) + 1
            alphabet = re.escape(plugin.charset)
            patterns.append(re.compile(f"[{alphabet}]{{{shortest},}}"))
        elif isinstance(plugin, RegexBasedDetector):
            patterns += [re.compile(p.pattern, p.flags | re.MULTILINE) for p in plugin.denylist]
        else:
            return None
    return patterns


def candidate_lines(lines: list[str], patterns: list[re.Pattern[str]]) -> set[int]:
    """1-based numbers of the lines some pattern touches."""
    text = "\n".join(line.rstrip("\n") for line in lines)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line.rstrip("\n")) + 1)
    found: set[int] = set()
    for pattern in patterns:
        for match in pattern.finditer(text):
            first = bisect.bisect_right(starts, match.start())
            last = bisect.bisect_right(starts, max(match.start(), match.end() - 1))
            found.update(range(first, last + 1))
    return found


def scan(path: str, patterns: list[re.Pattern[str]] | None) -> Iterator[Any]:
    """detect-secrets' findings in PATH, judged on candidate lines only."""
    from detect_secrets.core import scan as engine
    from detect_secrets.settings import get_plugins
    from detect_secrets.util.code_snippet import get_code_snippet

    if engine._is_filtered_out(required_filter_parameters=["filename"], filename=path):
        return
    for lines in engine._get_lines_from_file(path):
        wanted = (
            candidate_lines(lines, patterns) if patterns is not None else range(1, len(lines) + 1)
        )
        found = False
        for number in sorted(wanted):
            line = lines[number - 1].rstrip()
            context = get_code_snippet(lines=lines, line_number=number)
            if engine._is_filtered_out(
                required_filter_parameters=["line"], filename=path, line=line, context=context
            ):
                continue
            for plugin in get_plugins():
                for secret in engine._scan_line(
                    plugin=plugin, filename=path, line=line, line_number=number, context=context
                ):
                    if not engine._is_filtered_out(
                        required_filter_parameters=["context"], filename=secret.filename,
                        secret=secret.secret_value, plugin=plugin, line=line, context=context,
                    ) and not known_non_secret(path, line, secret.secret_value or "",
                                               secret.type):  # fmt: skip
                        found = True
                        yield secret
        if found:
            return


# Values that look random and are not secrets: pinned revisions, migration ids,
# content hashes and identifiers.
_PINNED_REVISION = re.compile(r"^\s*-?\s*rev\s*:", re.IGNORECASE)
_MIGRATION_ID = re.compile(r"^\s*(down_revision|revision|branch_labels|Revision ID|Revises)\b",
                           re.IGNORECASE)  # fmt: skip
_INTEGRITY = re.compile(r"\b(sha1|sha256|sha384|sha512)-[A-Za-z0-9+/]{20,}={0,2}")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_HASH_KEYS = re.compile(r"(?<![a-z])(etag|checksum|sha(1|256|512)?|md5|digest|integrity|hash"
                        r"|commit|githead|revision)(?![a-z])", re.IGNORECASE)  # fmt: skip
_HEX = re.compile(r"^[0-9a-f]{7,64}$")
# Names that hold a secret rather than the secret ("password1", a field name,
# "django-insecure-", a prefix), and placeholders in examples: words, not keys.
_NAME = re.compile(r"(passw(or)?d|secret|token|key|insecure|credential)|[-_.]$", re.IGNORECASE)
_PLACEHOLDER = re.compile(
    r"^(.*\s.*|change.?me|secret|passw(or)?d|example|dummy|placeholder|x{3,}|\*+|<[^>]*>"
    r"|\$\{[^}]*\}|your[-_ ].*|(dev|development|test|testing|local)([-_ ]?(key|secret))?)$",
    re.IGNORECASE,
)


def known_non_secret(path: str, line: str, value: str, kind: str = "") -> bool:
    """Whether VALUE (a secret of KIND) on LINE of PATH is a known kind of non-secret."""
    if kind == "Secret Keyword" and (_PLACEHOLDER.match(value) or _NAME.search(value)):
        return True
    if path.endswith(".pre-commit-config.yaml") and _PINNED_REVISION.match(line):
        return True
    if _MIGRATION_ID.match(line) or _UUID.match(value):
        return True
    if any(value in match.group() for match in _INTEGRITY.finditer(line)):
        return True
    return bool(_HEX.match(value) and _HASH_KEYS.search(line))


def record(path: str, secret: Any) -> dict[str, Any]:
    """What leaves the child: where the secret is and a masked line, never the value."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        lines = handle.read().splitlines()
    line = lines[secret.line_number - 1] if secret.line_number <= len(lines) else ""
    value, start = whole(line, secret.secret_value or "")
    return {
        "type": secret.type,
        "path": path,
        "line": secret.line_number,
        "column": start + 1 if start >= 0 else 0,
        "end_column": start + 1 + len(value) if start >= 0 else 0,
        "snippet": (line.replace(value, mask(value)) if value else "").strip()[:300],
    }


_LEFT, _RIGHT = re.compile(r"[A-Za-z0-9_\-+/.~]*$"), re.compile(r"^[A-Za-z0-9_\-+/.~=]*")


def whole(line: str, value: str) -> tuple[str, int]:
    """VALUE grown to the whole token it is part of in LINE, and where it starts
    (-1 when it is not there): a plugin may report only part of a secret, as
    the GitHub token plugin reports its `ghp` prefix."""
    start = line.find(value) if value else -1
    if start < 0:
        return value, -1
    left = _LEFT.search(line[:start])
    right = _RIGHT.match(line[start + len(value) :])
    begin = start - len(left.group()) if left else start
    end = start + len(value) + (len(right.group()) if right else 0)
    return line[begin:end], begin


MAX_BASELINE = 5_000_000


def accepted(path: str) -> set[tuple[str, str]]:
    """(file, hashed secret) of every secret in a detect-secrets baseline at PATH;
    nothing when it is missing, too large or not what a baseline is."""
    try:
        if os.path.islink(path) or os.path.getsize(path) > MAX_BASELINE:
            return set()
        with open(path, encoding="utf-8") as handle:
            results = json.load(handle).get("results", {})
        return {(str(name).removeprefix("./"), str(entry["hashed_secret"]))
                for name, entries in results.items() for entry in entries}  # fmt: skip
    except (OSError, ValueError, AttributeError, KeyError, TypeError, RecursionError):
        return set()


OWN_PLUGINS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "secret_plugins.py")


def main(arguments: list[str]) -> None:
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.settings import get_plugins, transient_settings

    known: set[tuple[str, str]] = set()
    if arguments[:1] == ["--baseline"]:
        known, arguments = accepted(arguments[1]), arguments[2:]
    found = []
    kinds: list[type] = list(get_mapping_from_secret_type_to_class().values())
    every = [{"name": kind.__name__} for kind in kinds]
    every.append({"name": "RepolensTokenDetector", "path": f"file://{OWN_PLUGINS}"})
    with transient_settings({"plugins_used": every}):
        get_mapping_from_secret_type_to_class.cache_clear()  # it was read without ours
        patterns = candidate_patterns(list(get_plugins()))
        for path in arguments:
            found += [record(path, secret) for secret in scan(path, patterns)
                      if (path.removeprefix("./"), secret.secret_hash) not in known]  # fmt: skip
    json.dump(found, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
