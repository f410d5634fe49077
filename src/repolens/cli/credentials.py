"""The command line's token for the server: `REPOLENS_TOKEN`, else the one in
its config file (`REPOLENS_CLI_CONFIG`, default ~/.config/repolens/config.toml,
readable by its owner only), else `REPOLENS_API_TOKEN`."""

from __future__ import annotations

import contextlib
import os
import tomllib
from pathlib import Path

from repolens.security import tokens
from repolens.settings import Settings, plain


def token(settings: Settings) -> str | None:
    if settings.token is not None:
        return settings.token.get_secret_value()
    saved = kept(settings.cli_config)
    if saved is not None:
        return saved
    return plain(settings.api_token)


def kept(path: Path) -> str | None:
    """The token in the config file PATH (None when there is none)."""
    with contextlib.suppress(OSError, tomllib.TOMLDecodeError):
        value = tomllib.loads(path.read_text()).get("token")
        return value if isinstance(value, str) and value else None
    return None


def keep(path: Path, secret: str) -> bool:
    """Write SECRET (an API token) as the config file PATH's token, readable by
    its owner only; False, and nothing written, when PATH holds a token already."""
    if kept(path) is not None or not tokens.is_token(secret):
        return False
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    aside = path.with_name(f".{path.name}.{os.getpid()}")
    aside.unlink(missing_ok=True)  # a file (or a link) left there is not written through
    descriptor = os.open(aside, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(f'# repolens command line\ntoken = "{secret}"\n')
    os.replace(aside, path)
    return True
