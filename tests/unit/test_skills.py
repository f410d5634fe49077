from __future__ import annotations

import json
from pathlib import Path

from repolens import inventory
from repolens.analyzers.base import AnalyzerContext, Snapshot
from repolens.analyzers.builtin.skills import SkillsAnalyzer, SkillsOptions
from repolens.skills.model import SkillSet


def skills_of(root: Path, files: dict[str, str]) -> SkillSet:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    found = inventory.take(root, sorted(files), 1_000_000)
    outcome = SkillsAnalyzer().analyze(
        Snapshot(root, tuple(found.files)), AnalyzerContext(options=SkillsOptions())
    )
    assert isinstance(outcome.artifact, SkillSet)
    return outcome.artifact


def test_manifests_of_many_ecosystems_map_to_categorised_skills(tmp_path: Path) -> None:
    skills = skills_of(
        tmp_path,
        {
            "requirements.txt": "Django>=4.2  # web\npsycopg2-binary==2.9\n-r dev.txt\n",
            "requirements-dev.txt": "pytest\n",
            "web/package.json": json.dumps(
                {"dependencies": {"react": "^18"}, "devDependencies": {"vitest": "1"}}
            ),
            "svc/go.mod": "module x\n\nrequire (\n\tgithub.com/gin-gonic/gin v1.9.0\n)\n",
            "crate/Cargo.toml": '[dependencies]\ntokio = "1"\n',
            "Gemfile": "gem 'rails', '~> 7'\n",
            "pom.xml": "<dependency><artifactId>junit-jupiter</artifactId></dependency>",
            "Dockerfile": "FROM python:3.12-slim AS base\n",
            "docker-compose.yml": "services:\n  db:\n    image: postgres:16\n  cache:\n"
            "    image: redis:7\n",
            ".github/workflows/ci.yml": "on: push\n",
            "app.py": "print(1)\n" * 50,
        },
    )
    grouped = skills.by_category()

    assert set(grouped["framework"]) >= {"Django", "React", "Gin", "Tokio", "Ruby on Rails"}
    assert set(grouped["testing"]) >= {"pytest", "Vitest", "JUnit"}
    assert set(grouped["database"]) >= {"PostgreSQL", "Redis"}
    assert set(grouped["devops"]) >= {"Docker", "Docker Compose", "GitHub Actions"}
    assert grouped["language"] == ["Python"]
    (python,) = [s for s in skills.skills if s.name == "Python"]
    assert "Dockerfile" in python.evidence  # the base image backs the language up


def test_unknown_packages_are_not_skills(tmp_path: Path) -> None:
    skills = skills_of(tmp_path, {"requirements.txt": "our-internal-lib\nleftpad3000\n"})
    assert skills.skills == []


def test_a_broken_manifest_is_a_warning_not_a_failure(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text("{not json")
    (tmp_path / "requirements.txt").write_text("flask\n")
    found = inventory.take(tmp_path, ["package.json", "requirements.txt"], 1_000_000)
    outcome = SkillsAnalyzer().analyze(
        Snapshot(tmp_path, tuple(found.files)), AnalyzerContext(options=SkillsOptions())
    )
    assert isinstance(outcome.artifact, SkillSet)
    assert [s.name for s in outcome.artifact.skills] == ["Flask"]
    assert outcome.warnings and "package.json" in outcome.warnings[0]


def test_evidence_names_the_files(tmp_path: Path) -> None:
    skills = skills_of(tmp_path, {"pyproject.toml": '[project]\ndependencies = ["fastapi"]\n'})
    (fastapi,) = [s for s in skills.skills if s.name == "FastAPI"]
    assert fastapi.evidence == ["pyproject.toml"]
    assert fastapi.confidence == 0.9
