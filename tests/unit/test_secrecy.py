from __future__ import annotations

from pathlib import Path

from repolens.analyzers.base import Category, Finding, Severity, Snapshot
from repolens.analyzers.builtin.secrets_engine import whole
from repolens.masking import mask
from repolens.secrecy import redact, secret_values


def test_a_mask_keeps_nothing_of_a_secret_not_even_its_length() -> None:
    assert mask("AKIAZ7QW3RTY5UIO9PLK") == mask("short") == "********"


def test_a_secret_reported_by_its_prefix_is_grown_to_the_whole_token() -> None:
    token = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    line = f'    headers = {{"Authorization": "token {token}"}}'
    assert whole(line, "ghp") == (token, line.index(token))
    assert whole('password = "hunter2"', "hunter2") == ("hunter2", 12)


def test_secret_values_are_read_back_from_the_positions_the_engine_reported(
    tmp_path: Path,
) -> None:
    (tmp_path / "app.py").write_text('x = 1\nTOKEN = "s3cr3t-value-123"\n')
    found = Finding("secrets", "keyword", "t", "m", Category.SECRETS, Severity.HIGH, "app.py",
                    line=2, column=10, end_column=26)  # fmt: skip
    assert secret_values([found], Snapshot(tmp_path, ())) == {"s3cr3t-value-123"}


def test_every_text_field_of_every_finding_is_masked_and_the_longest_value_wins() -> None:
    quoting = Finding("bandit", "B105", "Hardcoded password 'hunter2hunter2'",
                      "Possible hardcoded password: 'hunter2hunter2' and 'hunter2'",
                      Category.SECURITY, Severity.LOW, "a.py", snippet='pw = "hunter2hunter2"',
                      fix='-pw = "hunter2hunter2"\n+pw = os.environ["PW"]\n')  # fmt: skip
    untouched = Finding("ruff", "F401", "unused", "os unused", Category.STYLE, Severity.LOW, "a.py")

    masked, same = redact([quoting, untouched], {"hunter2", "hunter2hunter2"})

    text = " ".join((masked.title, masked.message, masked.snippet, masked.fix))
    assert "hunter2" not in text
    assert mask("hunter2hunter2") in masked.message and mask("hunter2") in masked.message
    assert same is untouched
