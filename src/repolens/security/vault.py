"""Secrets at rest (repository credentials, next forge tokens and webhook
secrets), sealed with Fernet under the deployment's keys.

`REPOLENS_SECRET_KEYS` holds one or more Fernet keys, comma-separated: the
first seals, every one opens, so a key is rotated by putting a new one first.
Without it, a key is generated once into the data directory (mode 0600), which
suits the embedded deployment; several machines must share the setting."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from repolens.errors import RepolensError
from repolens.settings import Settings


class Vault:
    def __init__(self, keys: list[bytes]) -> None:
        self._fernet = MultiFernet([Fernet(key) for key in keys])
        self.key = keys[0]  # the first: what other keys are derived from

    @classmethod
    def of(cls, settings: Settings) -> Vault:
        if settings.secret_keys is not None:
            given = settings.secret_keys.get_secret_value().split(",")
            return cls([key.strip().encode() for key in given if key.strip()])
        return cls([_generated(settings.data_dir / "secret.key")])

    def encrypt(self, text: str) -> str:
        return self._fernet.encrypt(text.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise RepolensError(
                "a stored secret cannot be opened with the configured keys "
                "(REPOLENS_SECRET_KEYS changed?)"
            ) from None

    def rotate(self, token: str) -> str:
        """TOKEN sealed again under the first key."""
        return self._fernet.rotate(token.encode()).decode()


def _generated(path: Path) -> bytes:
    """The key in PATH, made on first use. It is written aside and linked into
    place, so two processes starting at once both read the one that won."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        aside = path.with_name(f".{path.name}.{os.getpid()}")
        descriptor = os.open(aside, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(Fernet.generate_key())
        with contextlib.suppress(FileExistsError):
            os.link(aside, path)
        aside.unlink()
    return path.read_bytes().strip()
