"""Structured text from a repository, read with bounds: a repository's files are
a stranger's, and its configuration is read on the server.

YAML goes through a safe loader that refuses anchors and aliases (a 300-byte
alias bomb stands for gigabytes once anything walks it), nesting deeper than
`MAX_DEPTH` and documents over the size given; JSON and TOML are bounded by
size, and their parsers' recursion by depth. What breaks a bound is
`Unreadable`, which callers turn into a warning."""

from __future__ import annotations

import hashlib
import json as _json
import tomllib
from pathlib import Path
from typing import Any

import yaml as _yaml

from repolens.errors import InputError

MAX_DEPTH = 32
MAX_BYTES = 1_000_000


class Unreadable(InputError):
    """The document cannot be read within its bounds."""


class _BoundedLoader(_yaml.SafeLoader):
    """SafeLoader without anchors or aliases, and with a nesting limit."""

    depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(_yaml.AliasEvent):
            raise Unreadable("YAML aliases (*name) are not allowed")
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if getattr(event, "anchor", None):
            raise Unreadable("YAML anchors (&name) are not allowed")
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise Unreadable(f"nested deeper than {MAX_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def yaml(text: str, max_bytes: int = MAX_BYTES) -> Any:
    """The one YAML document in TEXT, or None for an empty one."""
    _within(text, max_bytes)
    loader = _BoundedLoader(text)
    try:
        return loader.get_single_data()
    except _yaml.YAMLError as exc:
        raise Unreadable(f"not valid YAML: {str(exc).splitlines()[0]}") from None
    finally:
        loader.dispose()


def json(text: str, max_bytes: int = MAX_BYTES) -> Any:
    _within(text, max_bytes)
    try:
        return _json.loads(text)
    except ValueError as exc:
        raise Unreadable(f"not valid JSON: {exc}") from None
    except RecursionError:
        raise Unreadable("nested too deeply") from None


def toml(text: str, max_bytes: int = MAX_BYTES) -> dict[str, Any]:
    _within(text, max_bytes)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise Unreadable(f"not valid TOML: {exc}") from None
    except RecursionError:
        raise Unreadable("nested too deeply") from None


def _within(text: str, max_bytes: int) -> None:
    if len(text) > max_bytes:
        raise Unreadable(f"larger than {max_bytes} characters")


def repository_text(root: Path, name: str, max_bytes: int = 256_000) -> str | None:
    """The text of NAME at the top of ROOT when it is a regular file within
    MAX_BYTES (a link could point anywhere on the server), else None."""
    path = root / name
    if path.is_symlink() or not path.is_file() or path.stat().st_size > max_bytes:
        return None
    return path.read_text(encoding="utf-8", errors="replace")


def digest(text: str) -> str:
    """A short digest of TEXT, for cache keys."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]
