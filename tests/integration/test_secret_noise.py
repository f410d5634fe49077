"""Values that look random but are not secrets are not reported as secrets."""

from __future__ import annotations

from collections.abc import Callable

from repolens import scan
from repolens.security import tokens
from repolens.settings import Settings
from tests.conftest import Repo

NOT_SECRETS = {
    ".pre-commit-config.yaml": "repos:\n  - repo: https://github.com/astral-sh/ruff-pre-commit\n"
    "    rev: 3f2b1c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b\n",
    "migrations/versions/ae1027a6acf_add.py": '"""add\n\nRevision ID: ae1027a6acf9\n'
    'Revises: 1975ea83b712\n"""\nrevision = "ae1027a6acf9"\ndown_revision = "1975ea83b712"\n',
    "web/deps.txt": "lodash sha512-v2kDEe57lecTulaDIuNTPy3Ry4gLGJ6Z1O3vE1krgXZNrsQ"
    "+LFTGHVxVjcXPs17LhbZVGedAJv8XZ1tvj5FvSg==\n",
    "app/ids.py": 'DEFAULT_TENANT = "9b2e4c1a-7f3d-4e8b-a1c2-3d4e5f6a7b8c"\n'
    'ETAG = "d41d8cd98f00b204e9800998ecf8427e"\n'
    'COMMIT_SHA = "9fceb02d0ae598e95dc970b74767f19372d61af8"\n',
}
SECRETS = {
    "app/settings.py": 'AWS_ACCESS_KEY_ID = "AKIAZ7QW3RTY5UIO9PLK"\n'
    'GITHUB = "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"\n'
}


def test_pinned_revisions_migration_ids_hashes_and_uuids_are_not_secrets(
    make_repo: Callable[..., Repo], settings: Settings
) -> None:
    repo = make_repo()
    repo.commit({**NOT_SECRETS, **SECRETS})
    report = scan.run(scan.ScanRequest(str(repo.path), analyzers=["secrets"]), settings)
    assert {(f.path, f.line) for f in report.findings if f.path != "app/settings.py"} == set()
    assert len(report.findings) == 2


def test_placeholders_and_names_of_secrets_are_not_secrets_but_real_ones_are(
    make_repo: Callable[..., Repo], settings: Settings
) -> None:
    repo = make_repo()
    repo.commit({"app/config.py": "class Dev:\n    SECRET_KEY = 'development key'\n"
                 "    PASSWORD = 'changeme'\n    API_TOKEN = '${API_TOKEN}'\n"
                 "    DB_PASSWORD = 'r9T#kq2!Lz8vXw4m'\n"
                 "    password_field_name = 'password1'\n"
                 "    SECRET_KEY_INSECURE_PREFIX = 'django-insecure-'\n"})  # fmt: skip
    report = scan.run(scan.ScanRequest(str(repo.path), analyzers=["secrets"]), settings)
    assert [f.line for f in report.findings] == [5]


def test_a_leaked_repolens_token_is_found_as_one(
    make_repo: Callable[..., Repo], settings: Settings
) -> None:
    leaked = tokens.mint()
    repo = make_repo()
    repo.commit({"deploy/ci.py": f'import os\n\nREPOLENS = "{leaked}"\n'})

    report = scan.run(scan.ScanRequest(str(repo.path), analyzers=["secrets"]), settings)

    (finding,) = report.findings
    assert finding.line == 3 and "repolens API Token" in finding.title
    assert leaked not in report.model_dump_json()  # the report masks it
