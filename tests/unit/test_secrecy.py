from __future__ import annotations

from pathlib import Path

from repolens.analyzers.base import Category, Finding, Severity, Snapshot
from repolens.masking import mask
from repolens.secrecy import redact, secret_values


def test_a_mask_keeps_only_the_ends_of_a_long_secret() -> None:
    assert mask("AKIAZ7QW3RTY5UIO9PLK") == "AK****************LK"
    assert mask("short") == "*****"


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
