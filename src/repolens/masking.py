"""How a secret is shown: enough to recognise it, never enough to use it.

Dependency-free, because the secrets engine's child process imports it."""


def mask(value: str) -> str:
    if len(value) <= 8:
        return "*" * len(value)
    return f"{value[:2]}{'*' * min(len(value) - 4, 16)}{value[-2:]}"
