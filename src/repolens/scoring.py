"""From findings to grades and a 0–100 health score.

The formula (docs/scoring.md explains it with an example):

    points  = Σ weight(severity) over the findings        critical 25, high 10,
                                                          medium 3, low 1, info 0
    density = points per thousand lines of analysed code  (at least 1 KLOC)
    score   = round(100 × 20 / (20 + density))
    and a critical finding caps the score at 59.

So a clean repository scores 100, 20 points per KLOC scores 50, and the score
falls ever more slowly as density grows. Each category gets the same formula
over its own findings and a letter: A ≥ 90, B ≥ 80, C ≥ 70, D ≥ 60, else F."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from pydantic import BaseModel

from repolens.analyzers.base import Category, Finding, Severity

WEIGHTS = {
    Severity.CRITICAL: 25,
    Severity.HIGH: 10,
    Severity.MEDIUM: 3,
    Severity.LOW: 1,
    Severity.INFO: 0,
}
HALF_SCORE_DENSITY = 20.0
CRITICAL_CAP = 59


class Grade(BaseModel):
    category: Category
    findings: int
    points: int
    score: int
    grade: str


class Score(BaseModel):
    score: int
    grade: str
    points: int
    kloc: float
    density: float
    by_severity: dict[str, int]
    categories: list[Grade]
    explanation: str


def letter(score: int) -> str:
    for threshold, grade in ((90, "A"), (80, "B"), (70, "C"), (60, "D")):
        if score >= threshold:
            return grade
    return "F"


def _score(findings: list[Finding], kloc: float) -> tuple[int, int, float]:
    points = sum(WEIGHTS[f.severity] for f in findings)
    density = points / max(kloc, 1.0)
    score = round(100 * HALF_SCORE_DENSITY / (HALF_SCORE_DENSITY + density))
    if any(f.severity is Severity.CRITICAL for f in findings):
        score = min(score, CRITICAL_CAP)
    return score, points, density


def score(findings: Iterable[Finding], lines: int) -> Score:
    findings = list(findings)
    kloc = lines / 1000
    total, points, density = _score(findings, kloc)
    grades = []
    for category in Category:
        mine = [f for f in findings if f.category is category]
        value, category_points, _ = _score(mine, kloc)
        grades.append(Grade(category=category, findings=len(mine), points=category_points,
                            score=value, grade=letter(value)))  # fmt: skip
    severities = Counter(f.severity.value for f in findings)
    explanation = (
        f"{points} severity points over {max(kloc, 1.0):.1f} KLOC is a density of "
        f"{density:.2f}; score = 100 × {HALF_SCORE_DENSITY:g} / ({HALF_SCORE_DENSITY:g} + "
        f"{density:.2f}) = {round(100 * HALF_SCORE_DENSITY / (HALF_SCORE_DENSITY + density))}"
        + (f", capped at {CRITICAL_CAP} by a critical finding" if severities["critical"] else "")
        + "."
    )
    return Score(
        score=total,
        grade=letter(total),
        points=points,
        kloc=round(kloc, 3),
        density=round(density, 3),
        by_severity={s.value: severities.get(s.value, 0) for s in Severity},
        categories=grades,
        explanation=explanation,
    )
